"""What a Space's pod asks of the cluster for its hardware flavor: resources, node selection, GPU.

``hardware_for(flavor, node=...)`` turns a ``scheduling.flavors.Flavor`` (and the node admission chose,
if any) into a :class:`Hardware` value the manifests use. Requests equal limits for CPU and memory: a
Space gets what its flavor says and no more (Guaranteed QoS), so a busy Space cannot starve its
neighbours, and a sleeping one (zero replicas) holds nothing. The GPU resource (``nvidia.com/gpu``,
``nvidia.com/mig-<profile>``, ``nvidia.com/gpu.shared``) goes in both, as extended resources require. A
ZeroGPU flavor holds no GPU between calls, so its pod asks for none.

Pinning: admission decides which node's devices a GPU Space holds (time-sliced cards go to one team
per node at a time), so a pod of a Space admitted on a node is bound there by node affinity on the
node's name; the scheduler then only checks it fits.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.scheduling import quantities as q
from orchestrator.scheduling.flavors import Flavor, Toleration

__all__ = ["Hardware", "Toleration", "format_quantity", "hardware_for"]


@dataclass(frozen=True)
class Hardware:
    """Resources and placement of one Space's pod."""

    resources: tuple[tuple[str, str], ...] = ()
    """(resource, quantity) pairs, requested and limited alike: ``("cpu", "2")``, ``("memory", "16Gi")``."""
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    node: str | None = None
    """The node admission placed the Space on (its devices are counted there); ``None``: any."""
    gpu_resource: str | None = None
    """The GPU resource the pod holds, if any."""

    @property
    def holds_gpu(self) -> bool:
        return self.gpu_resource is not None


def format_quantity(resource: str, amount: int) -> str:
    """An integer amount (millicores, bytes, devices) as the shortest exact Kubernetes quantity."""
    if resource == q.CPU:
        return str(amount // 1000) if amount % 1000 == 0 else f"{amount}m"
    if resource == q.MEMORY:
        for suffix, size in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
            if amount % size == 0:
                return f"{amount // size}{suffix}"
    return str(amount)


def hardware_for(flavor: Flavor, *, node: str | None = None) -> Hardware:
    """The pod's share of ``flavor`` (admitted on ``node``, if admission chose one)."""
    resources = tuple((name, format_quantity(name, amount)) for name, amount in flavor.requests)
    gpu = flavor.gpu.resource if flavor.holds_gpu and flavor.gpu is not None else None
    return Hardware(
        resources=resources,
        node_selector=flavor.node.labels,
        tolerations=flavor.node.tolerations,
        node=node,
        gpu_resource=gpu,
    )
