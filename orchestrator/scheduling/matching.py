"""Which devices and nodes suit a flavor, and which flavors the inventory can serve (with the reason).

Pure functions over a :class:`~orchestrator.scheduling.flavors.Flavor` and the inventory's
:class:`~orchestrator.scheduling.inventory.Device` / ``Node`` values: product and memory of the card,
MIG profile, node labels and taints (as Kubernetes: a ``NoSchedule``/``NoExecute`` taint keeps away
pods that do not tolerate it).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from orchestrator.scheduling.flavors import Catalog, Flavor, GpuKind, GpuSpec, NodeSelection, Toleration
from orchestrator.scheduling.inventory import Device, Inventory, Node, Taint, device_label, devices

MEMORY_TOLERANCE = 0.9
"""A card qualifies with 90 % of a flavor's GPU memory: drivers report less than the marketing figure."""
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def product_matches(wanted: tuple[str, ...], product: str) -> bool:
    """True when one of ``wanted`` appears word for word in ``product`` (``L4`` does not match ``L40S``)."""
    if not wanted:
        return True
    have = _words(product)
    for alternative in wanted:
        need = _words(alternative)
        if any(have[i : i + len(need)] == need for i in range(len(have) - len(need) + 1)):
            return True
    return False


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    if toleration.effect is not None and toleration.effect != taint.effect:
        return False
    if toleration.operator == "Exists":
        return toleration.key in ("", taint.key)
    return toleration.key == taint.key and toleration.value == taint.value


def node_refusal(selection: NodeSelection, node: Node) -> str | None:
    """Why ``node`` does not take a flavor with ``selection`` (``None``: it does)."""
    labels = dict(node.labels)
    for key, value in selection.labels:
        if labels.get(key) != value:
            have = labels.get(key)
            return f"lacks label {key}={value}" + (f" (has {key}={have})" if have is not None else "")
    for taint in node.taints:
        if taint.effect == "PreferNoSchedule":
            continue
        if not any(tolerates(t, taint) for t in selection.tolerations):
            shown = f"{taint.key}={taint.value}" if taint.value else taint.key
            return f"has taint {shown}:{taint.effect} the flavor does not tolerate"
    return None


def device_suits(spec: GpuSpec, device: Device) -> bool:
    """True when ``device`` is the kind of unit ``spec`` asks for (node selection aside)."""
    if device.kind is not spec.kind:
        return False
    if spec.kind is GpuKind.MIG:
        return device.profile == spec.profile
    if not product_matches(spec.products, device.product):
        return False
    if spec.memory is not None and device.memory is not None:
        return device.memory >= spec.memory * MEMORY_TOLERANCE
    return True


def _suits(flavor: Flavor, device: Device) -> bool:
    """A ZeroGPU call may run on a whole card or a MIG instance (the Hub uses H200 MIG 3g.71gb)."""
    assert flavor.gpu is not None
    if flavor.zero_gpu:
        return device.kind in (GpuKind.WHOLE, GpuKind.MIG) and product_matches(
            flavor.gpu.products, device.product
        )
    return device_suits(flavor.gpu, device)


def compatible_devices(flavor: Flavor, inventory: Inventory) -> dict[str, list[Device]]:
    """Devices suiting ``flavor`` grouped by node name, on nodes whose labels and taints admit it."""
    if flavor.gpu is None:
        return {}
    refused = {n.name for n in inventory.nodes if node_refusal(flavor.node, n) is not None}
    grouped: dict[str, list[Device]] = {}
    for device in devices(inventory):
        if device.node not in refused and _suits(flavor, device):
            grouped.setdefault(device.node, []).append(device)
    return grouped


@dataclass(frozen=True)
class Availability:
    flavor: str
    available: bool
    reason: str
    devices: int = 0
    """How many suitable devices exist (on admitting nodes)."""


def availability(flavor: Flavor, inventory: Inventory) -> Availability:
    """Whether the inventory can ever serve ``flavor``, and a sentence saying why (not)."""
    if flavor.gpu is None:
        return Availability(flavor.name, True, "needs no GPU")
    spec = flavor.gpu
    grouped = compatible_devices(flavor, inventory)
    total = sum(len(found) for found in grouped.values())
    need = 1 if flavor.zero_gpu else spec.count
    best_node, most = max(((n, len(d)) for n, d in grouped.items()), key=lambda x: x[1], default=("", 0))
    if most >= need:
        where = f"{total} suitable on {len(grouped)} node{'s' if len(grouped) != 1 else ''}"
        if flavor.zero_gpu:
            return Availability(flavor.name, True, f"ZeroGPU calls can use {where}", total)
        return Availability(flavor.name, True, where, total)
    wanted = _wanted(spec)
    if total:
        reason = f"needs {need}x {wanted} on one node; the most on one node is {most} ({best_node})"
    else:
        reason = f"no {wanted} in the inventory: {inventory.summary()}"
        hidden = _refused_nodes_with_devices(flavor, inventory)
        if hidden:
            reason += f"; {hidden}"
    return Availability(flavor.name, False, reason, total)


def catalog_availability(catalog: Catalog, inventory: Inventory) -> dict[str, Availability]:
    """Every flavor of ``catalog`` against ``inventory``, in catalog order."""
    return {name: availability(flavor, inventory) for name, flavor in catalog.items()}


def _wanted(spec: GpuSpec) -> str:
    if spec.kind is GpuKind.MIG:
        return f"MIG {spec.profile} instance"
    product = "/".join(spec.products) or "GPU"
    memory = f" with {spec.memory / 2**30:g}Gi" if spec.memory else ""
    kind = " time-sliced share" if spec.kind is GpuKind.SHARED else ""
    return f"{product}{memory}{kind}"


def _refused_nodes_with_devices(flavor: Flavor, inventory: Inventory) -> str:
    """``node x has taint …`` for nodes that hold suitable devices but do not admit the flavor."""
    assert flavor.gpu is not None
    suitable = Counter(d.node for d in devices(inventory) if _suits(flavor, d))
    notes = []
    for node in inventory.nodes:
        why = node_refusal(flavor.node, node)
        if suitable.get(node.name) and why:
            notes.append(f"node {node.name} {why}")
    return "; ".join(notes)


__all__ = [
    "Availability",
    "availability",
    "catalog_availability",
    "compatible_devices",
    "device_label",
    "device_suits",
    "node_refusal",
    "product_matches",
]
