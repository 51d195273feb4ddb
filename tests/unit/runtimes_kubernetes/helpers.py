"""Workloads and a cluster policy the manifest tests share."""

from __future__ import annotations

from dataclasses import replace

from orchestrator.runtimes.kubernetes.hardware import hardware_for
from orchestrator.runtimes.kubernetes.workload import (
    WRITABLE_ROOT,
    ClusterPolicy,
    PodSelector,
    SpaceWorkload,
    Storage,
)
from orchestrator.scheduling.flavors import Flavor, default_catalog, parse_catalog

DIGEST = "sha256:" + "ab" * 32
IMAGE = f"registry.spaces.svc:5000/spaces/alice-demo@{DIGEST}"

POLICY = ClusterPolicy(
    namespace="spaces",
    proxy=PodSelector(
        namespace_labels=(("kubernetes.io/metadata.name", "spaces-system"),),
        pod_labels=(("app.kubernetes.io/component", "proxy"), ("app.kubernetes.io/instance", "spaces")),
    ),
)

CPU_SPACE = SpaceWorkload(
    space_id="alice/demo",
    revision="3f2c1a9",
    image=IMAGE,
    env=(("PORT", "7860"), ("SYSTEM", "spaces")),
    secret_keys=("HF_TOKEN", "GREETING"),
    hardware=hardware_for(default_catalog()["cpu-basic"]),
)


LONGEST_ID = "Owner-" + "ab-" * 8 + "cdefghijk" + "/" + "A_very.long-space" * 5 + "Name_End"
"""A 39-character owner and a 93-character name: the longest the Hub allows are 39 and 96."""

MIG_CATALOG = """
flavors:
  a100-mig-1g:
    cpu: 2
    memory: 8Gi
    resources: {nvidia.com/mig-1g.10gb: 1}
    node:
      labels: {nvidia.com/gpu.product: A100-SXM4-80GB}
      tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
"""


def mig_flavor() -> Flavor:
    return parse_catalog(MIG_CATALOG)["a100-mig-1g"]


def flavored(flavor: str, *, node: str | None = None) -> SpaceWorkload:
    return replace(CPU_SPACE, hardware=hardware_for(default_catalog()[flavor], node=node))


def every_kind_of_workload() -> list[SpaceWorkload]:
    """One workload per feature the manifests treat differently."""
    return [
        CPU_SPACE,
        replace(CPU_SPACE, awake=False),
        flavored("a10g-small", node="gpu-node-1"),
        flavored("a100-large"),
        flavored("zero-a10g"),
        replace(
            CPU_SPACE,
            filesystem=WRITABLE_ROOT,
            command=("uvicorn",),
            args=("main:app", "--port", "8000"),
            port=8000,
        ),
        replace(CPU_SPACE, storage=Storage("20Gi", storage_class="fast"), restart_token="2"),
        replace(CPU_SPACE, space_id=LONGEST_ID),
        replace(CPU_SPACE, hardware=hardware_for(mig_flavor())),
    ]
