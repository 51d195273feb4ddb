"""The values the chart is rendered with in the tests: one set per way an admin installs it."""

from __future__ import annotations

from typing import Any

GPU_FLAVORS = """\
flavors:
  cpu-basic: {cpu: 2, memory: 16Gi}
  a10g-small:
    cpu: 4
    memory: 15Gi
    resources: {nvidia.com/gpu: 1}
    node:
      labels: {nvidia.com/gpu.product: NVIDIA-A10G}
      tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
"""

VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "external-services": {
        "database": {
            "bundled": False,
            "external": {"url": "postgresql+psycopg://spaces:pw@db.example.com:5432/spaces"},
        },
        "redis": {
            "bundled": False,
            "external": {"existingSecret": "my-redis", "existingSecretKey": "redis-url"},
        },
        "registry": {
            "bundled": False,
            "external": {
                "host": "registry.example.com:5000",
                "pushSecret": "push-creds",
                "pullSecret": "pull-creds",
            },
        },
        "builder": {"mode": "external", "external": {"host": "tcp://build-vm.example.com:2375"}},
        "adminToken": {"existingSecret": "my-admin-token"},
        "image": {
            "repository": "registry.example.com:5000/spaces-orchestrator",
            "digest": "sha256:" + "0" * 64,
        },
        "imagePullSecrets": ["pull-creds"],
        "clusterDns": False,
    },
    "gpu": {
        "spaces": {
            "flavors": GPU_FLAVORS,
            "gpuRuntimeClassName": "nvidia",
            "runtimeClassName": "gvisor",
            "persistentStorage": {"enabled": True, "storageClass": "fast"},
        },
        "builder": {
            "userNamespace": True,
            "runtimeClassName": "kata",
            "nodeSelector": {"spaces/builds": "true"},
            "tolerations": [{"key": "spaces/builds", "operator": "Exists", "effect": "NoSchedule"}],
        },
        "controller": {"nodeSelector": {"node-role": "control"}},
    },
    "ingress-off": {
        "ingress": {"enabled": False},
        "serviceType": "LoadBalancer",
        "networkPolicy": {"enabled": False},
        "podDisruptionBudget": {"enabled": False},
        "rbac": {"readNodes": False},
        "spaces": {"namespace": {"create": False, "name": "my-spaces"}, "devMode": False},
        "api": {"persistence": {"enabled": False}},
        "proxy": {"replicas": 1},
        "controller": {"replicas": 1},
    },
    "tls-and-scale": {
        "domain": "apps.example.org",
        "ingress": {"className": "nginx", "tls": {"enabled": True, "secretName": "wildcard-cert"}},
        "api": {"replicas": 3, "persistence": {"accessModes": ["ReadWriteMany"], "storageClass": "nfs"}},
        "proxy": {"replicas": 4},
        "worker": {"replicas": 6},
        "keepDataOnUninstall": True,
    },
}
