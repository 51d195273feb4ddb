"""What GPUs exist: nodes, their cards, MIG instances and time-sliced replicas, as plain values.

An :class:`Inventory` comes from one of the readers in ``readers/`` (NVML on this machine, Kubernetes
node objects, or a file an admin writes); :func:`devices` turns it into the units admission hands out:
a whole card, a MIG instance, or one replica of a time-sliced (or MPS) card. Nothing here changes a
GPU's configuration or talks to anything; ``python -m orchestrator.scheduling.inventory --nvml``
prints what a reader sees, as JSON, for checking on a real GPU machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

from orchestrator.scheduling import quantities as q
from orchestrator.scheduling.flavors import GpuKind


class Sharing(StrEnum):
    NONE = "none"
    TIME_SLICING = "time-slicing"
    MPS = "mps"


class Tenancy(StrEnum):
    """The unit whose replicas go to one team at a time."""

    CARD = "card"
    """We pick the replica's card (NVML, files): one team per card."""
    NODE = "node"
    """The device plugin picks the card (Kubernetes): one team per node's shared cards."""


@dataclass(frozen=True)
class Taint:
    key: str
    value: str = ""
    effect: str = "NoSchedule"


@dataclass(frozen=True)
class MigDevice:
    profile: str
    """``1g.10gb``: as in the resource name ``nvidia.com/mig-1g.10gb``."""
    uuid: str | None = None
    memory: int | None = None
    parent: str | None = None
    """The card's UUID, where known (NVML, files)."""


@dataclass(frozen=True)
class Gpu:
    product: str
    uuid: str | None = None
    """``GPU-…``; ``None`` on Kubernetes, where the device plugin picks the card."""
    memory: int | None = None
    index: int | None = None
    mig_enabled: bool = False
    """A card in MIG mode is handed out only through its MIG instances."""
    sharing: Sharing = Sharing.NONE
    replicas: int = 1


@dataclass(frozen=True)
class Node:
    name: str
    gpus: tuple[Gpu, ...] = ()
    mig: tuple[MigDevice, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    taints: tuple[Taint, ...] = ()
    shared_resource: str = q.SHARED_GPU
    """The name replicas are advertised under (``nvidia.com/gpu`` when the device plugin does not rename)."""
    tenancy: Tenancy = Tenancy.CARD


@dataclass(frozen=True)
class Inventory:
    nodes: tuple[Node, ...]
    source: str
    """``nvml``, ``kubernetes``, ``file:<path>`` or ``declared``."""
    note: str | None = None
    """Why the inventory is empty or partial (no NVML library, no driver, ...)."""

    def summary(self) -> str:
        """``2x NVIDIA A10G, 7x MIG 1g.10gb on 1 node (nvml)``, or the note when there is nothing."""
        counts = Counter(device_label(d) for d in devices(self))
        if not counts:
            return f"no GPUs ({self.source}: {self.note})" if self.note else f"no GPUs ({self.source})"
        items = ", ".join(f"{n}x {label}" for label, n in counts.items())
        nodes = len(self.nodes)
        return f"{items} on {nodes} node{'s' if nodes != 1 else ''} ({self.source})"


@dataclass(frozen=True)
class Device:
    """One unit admission can hand out."""

    id: str
    """Unique in the inventory: a GPU or MIG UUID, ``<card>::<replica>``, or ``<node>/gpu<i>``."""
    node: str
    kind: GpuKind
    resource: str
    """The extended resource a Kubernetes pod asks for."""
    product: str
    memory: int | None = None
    profile: str | None = None
    visible_id: str | None = None
    """What ``CUDA_VISIBLE_DEVICES`` / CDI gets (``GPU-…``, ``MIG-…``); ``None`` where the device plugin
    picks."""
    tenancy: str | None = None
    """For replicas: the card (or node) whose replicas go to one team at a time."""
    gpu_fraction: float = 1.0
    """Share of a physical card, for GPU-hours: 1, a MIG instance's slices out of 7 (4 on an A30), or
    1/replicas."""


def device_label(device: Device) -> str:
    if device.kind is GpuKind.MIG:
        return f"MIG {device.profile}"
    if device.kind is GpuKind.SHARED:
        return f"{device.product} share"
    return device.product


def _mig_fraction(profile: str, product: str) -> float:
    slices = int(profile.split("g", 1)[0])
    return slices / (4 if "A30" in product.upper() else 7)


def devices(inventory: Inventory) -> tuple[Device, ...]:
    """Every unit admission can hand out, node by node, card by card."""
    out: list[Device] = []
    for node in inventory.nodes:
        products = {gpu.uuid: gpu.product for gpu in node.gpus if gpu.uuid}
        for i, gpu in enumerate(node.gpus):
            card = gpu.uuid or f"{node.name}/gpu{gpu.index if gpu.index is not None else i}"
            if gpu.mig_enabled:
                continue
            if gpu.sharing is Sharing.NONE:
                out.append(
                    Device(
                        card, node.name, GpuKind.WHOLE, q.WHOLE_GPU, gpu.product, gpu.memory, None, gpu.uuid
                    )
                )
                continue
            tenancy = card if node.tenancy is Tenancy.CARD else f"{node.name}/shared"
            for r in range(gpu.replicas):
                out.append(
                    Device(
                        f"{card}::{r}",
                        node.name,
                        GpuKind.SHARED,
                        node.shared_resource,
                        gpu.product,
                        gpu.memory,
                        None,
                        gpu.uuid,
                        tenancy,
                        1 / gpu.replicas,
                    )
                )
        for i, mig in enumerate(node.mig):
            product = products.get(mig.parent or "", "")
            out.append(
                Device(
                    mig.uuid or f"{node.name}/mig-{mig.profile}-{i}",
                    node.name,
                    GpuKind.MIG,
                    q.MIG_PREFIX + mig.profile,
                    f"{product} MIG {mig.profile}".strip(),
                    mig.memory,
                    mig.profile,
                    mig.uuid,
                    None,
                    _mig_fraction(mig.profile, product),
                )
            )
    return tuple(out)


def to_json(inventory: Inventory) -> dict[str, object]:
    """The inventory and its devices as JSON-ready data (for the admin CLI and ``--nvml``)."""
    return {
        "source": inventory.source,
        "note": inventory.note,
        "summary": inventory.summary(),
        "nodes": [asdict(node) for node in inventory.nodes],
        "devices": [asdict(device) for device in devices(inventory)],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestrator.scheduling.inventory",
        description="Print the GPU inventory a reader sees, as JSON (read-only: changes no GPU setting).",
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--nvml", action="store_true", help="this machine's GPUs and MIG instances, via NVML")
    group.add_argument(
        "--nodes", metavar="FILE", help="Kubernetes node objects (JSON/YAML: a Node, a list, a NodeList)"
    )
    group.add_argument("--file", metavar="FILE", help="an inventory file")
    args = parser.parse_args(argv)
    from orchestrator.scheduling.readers import inventory_file, kubernetes, nvml

    if args.nvml:
        inventory = nvml.read_nvml()
    elif args.nodes:
        inventory = kubernetes.read_nodes_file(args.nodes)
    else:
        inventory = inventory_file.load_inventory(args.file)
    json.dump(to_json(inventory), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    # Run as a script this file is ``__main__``; the readers import the package's copy, so call that
    # copy's ``main`` to keep one set of classes (``is`` comparisons of enums depend on it).
    from orchestrator.scheduling.inventory import main as package_main

    raise SystemExit(package_main())
