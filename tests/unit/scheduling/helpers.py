"""Shared builders for the scheduling tests: a small catalog and inventory written as an admin would.

This machine has no GPU, so inventories here are declared (the inventory-file reader), which is also how
an admin describes GPUs that NVML cannot see (time-slicing)."""

from __future__ import annotations

from orchestrator.scheduling.flavors import Catalog, parse_catalog
from orchestrator.scheduling.inventory import Inventory
from orchestrator.scheduling.quotas import QuotaBook, ResourceQuota, TeamQuota
from orchestrator.scheduling.readers.inventory_file import parse_inventory
from orchestrator.scheduling.scheduler import Scheduler
from orchestrator.scheduling.snapshot import Policy, Snapshot
from orchestrator.scheduling.teams import TeamDirectory

GPU = "nvidia.com/gpu"
MIG = "nvidia.com/mig-1g.10gb"
SHARED = "nvidia.com/gpu.shared"

CATALOG_YAML = """
flavors:
  cpu-basic: {cpu: 2, memory: 16Gi}
  a10g-small:
    cpu: 4
    memory: 15Gi
    resources: {nvidia.com/gpu: 1}
    gpu: {product: A10G, memory: 24Gi}
  a10g-largex2:
    cpu: 24
    memory: 92Gi
    resources: {nvidia.com/gpu: 2}
    gpu: {product: A10G, memory: 24Gi}
  mig-small:
    cpu: 2
    memory: 8Gi
    resources: {nvidia.com/mig-1g.10gb: 1}
  t4-shared:
    cpu: 2
    memory: 8Gi
    resources: {nvidia.com/gpu.shared: 1}
    gpu: {product: T4}
"""


def catalog() -> Catalog:
    return parse_catalog(CATALOG_YAML, "test-flavors.yaml")


def inventory(a10g: int = 2, mig: int = 0, shared_cards: int = 0, replicas: int = 2) -> Inventory:
    lines = ["nodes:", "  - name: box", "    gpus:"]
    lines += [f"      - {{uuid: GPU-a10g-{i}, product: NVIDIA A10G, memory: 23028Mi}}" for i in range(a10g)]
    if mig:
        lines += ["      - uuid: GPU-a100", "        product: NVIDIA A100-SXM4-80GB", "        mig:"]
        lines += [f"          - {{uuid: MIG-{i}, profile: 1g.10gb}}" for i in range(mig)]
    lines += [
        f"      - {{uuid: GPU-t4-{i}, product: Tesla T4, sharing: time-slicing, replicas: {replicas}}}"
        for i in range(shared_cards)
    ]
    if len(lines) == 3:
        lines[-1] = "    gpus: []"
    return parse_inventory("\n".join(lines) + "\n", "test-inventory.yaml")


def team(name: str, cohort: str | None = None, **limits: ResourceQuota | int) -> TeamQuota:
    """``team("research", "lab", a10g_small=2)``: GPU quotas per flavor (``_`` for ``-`` in names)."""
    table: dict[tuple[str, str], ResourceQuota] = {}
    for key, value in limits.items():
        flavor = key.replace("_", "-")
        resource = {"mig-small": MIG, "t4-shared": SHARED}.get(flavor, GPU)
        table[(flavor, resource)] = value if isinstance(value, ResourceQuota) else ResourceQuota(value)
    return TeamQuota(name, cohort, table)


def scheduler(
    inv: Inventory | None = None, teams: tuple[TeamQuota, ...] = (), idle_after: float = 60.0, **members: str
) -> Scheduler:
    """A scheduler over ``inv``; ``members`` maps user -> team (``alice="research"``)."""
    book = QuotaBook({t.team: t for t in teams})
    directory = TeamDirectory({user: (t,) for user, t in members.items()})
    snapshot = Snapshot(catalog(), inv or inventory(), book, directory, Policy(idle_after=idle_after))
    return Scheduler(snapshot)
