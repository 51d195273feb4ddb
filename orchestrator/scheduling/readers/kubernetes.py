"""GPUs from Kubernetes node objects, as the NVIDIA device plugin and GPU Feature Discovery describe them.

Pure parsing of node dicts (``kubectl get nodes -o json``, or the API client's ``to_dict()``):
allocatable ``nvidia.com/gpu``, ``nvidia.com/gpu.shared`` and ``nvidia.com/mig-<profile>``, and GFD's
labels ``nvidia.com/gpu.product``, ``.memory``, ``.count``, ``.replicas`` and ``.sharing-strategy``.
The device plugin, not we, picks which card a pod's replica lands on, so replicas on one node go to
one team at a time (``Tenancy.NODE``). Cordoned nodes are left out. ``read_nodes_file`` is the only I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from orchestrator.scheduling import quantities as q
from orchestrator.scheduling.errors import ConfigFileError
from orchestrator.scheduling.inventory import Gpu, Inventory, MigDevice, Node, Sharing, Taint, Tenancy

PRODUCT = "nvidia.com/gpu.product"
MEMORY = "nvidia.com/gpu.memory"
COUNT = "nvidia.com/gpu.count"
REPLICAS = "nvidia.com/gpu.replicas"
SHARING = "nvidia.com/gpu.sharing-strategy"


def parse_node(obj: Mapping[str, Any]) -> Node:
    """One node object -> a :class:`Node` with its cards (no UUIDs: the device plugin picks) and MIG
    devices."""
    metadata = obj.get("metadata") or {}
    name = str(metadata.get("name") or "")
    if not name:
        raise ValueError("a node object without metadata.name")
    labels = {str(k): str(v) for k, v in (metadata.get("labels") or {}).items()}
    status = obj.get("status") or {}
    allocatable = status.get("allocatable") or status.get("capacity") or {}
    taints = tuple(
        Taint(str(t.get("key", "")), str(t.get("value", "") or ""), str(t.get("effect", "NoSchedule")))
        for t in (obj.get("spec") or {}).get("taints") or []
    )
    memory = _mebibytes(labels.get(MEMORY))
    product = labels.get(PRODUCT, "NVIDIA GPU")
    strategy = labels.get(SHARING, "none")
    replicas = _int(labels.get(REPLICAS), 1)
    shared_resource = q.SHARED_GPU if q.SHARED_GPU in allocatable else q.WHOLE_GPU
    advertised = _int(allocatable.get(shared_resource), 0)
    gpus: list[Gpu] = []
    if strategy in (Sharing.TIME_SLICING, Sharing.MPS) and replicas > 1:
        cards = min(_int(labels.get(COUNT), advertised // replicas), advertised // replicas)
        product = product.removesuffix("-SHARED")
        gpus = [Gpu(product, None, memory, i, False, Sharing(strategy), replicas) for i in range(cards)]
    else:
        gpus = [Gpu(product, None, memory, i) for i in range(_int(allocatable.get(q.WHOLE_GPU), 0))]
    mig: list[MigDevice] = []
    for resource, amount in sorted(allocatable.items()):
        profile = q.mig_profile(str(resource))
        if profile is None:
            continue
        size = _mebibytes(labels.get(f"nvidia.com/mig-{profile}.memory"))
        mig.extend(MigDevice(profile, None, size) for _ in range(_int(amount, 0)))
    return Node(
        name, tuple(gpus), tuple(mig), tuple(sorted(labels.items())), taints, shared_resource, Tenancy.NODE
    )


def parse_nodes(objects: Iterable[Mapping[str, Any]] | Mapping[str, Any]) -> Inventory:
    """A NodeList, a list of nodes or one node -> the inventory of the schedulable ones."""
    if isinstance(objects, Mapping):
        objects = objects.get("items", [objects]) if objects.get("kind") != "Node" else [objects]
    nodes: list[Node] = []
    cordoned: list[str] = []
    for obj in objects:
        node = parse_node(obj)
        if (obj.get("spec") or {}).get("unschedulable"):
            cordoned.append(node.name)
            continue
        nodes.append(node)
    note = f"left out cordoned node(s): {', '.join(cordoned)}" if cordoned else None
    if not nodes and note is None:
        note = "no nodes"
    return Inventory(tuple(nodes), "kubernetes", note)


def read_nodes_file(path: str | Path) -> Inventory:
    """Node objects saved as JSON or YAML (``kubectl get nodes -o json > nodes.json``)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text) if text.lstrip().startswith(("{", "[")) else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigFileError(
            path, getattr(exc, "lineno", None), f"not JSON or YAML node objects: {exc}"
        ) from exc
    try:
        return parse_nodes(data)
    except (ValueError, AttributeError, TypeError) as exc:
        raise ConfigFileError(path, None, f"not Kubernetes node objects: {exc}") from exc


def _int(value: Any, default: int) -> int:
    if value is None:
        return default
    try:
        return q.parse_count(str(value), "count")
    except q.QuantityError:
        return default


def _mebibytes(value: str | None) -> int | None:
    """GFD writes memory labels in MiB (``23028``)."""
    if value is None or not str(value).isdigit():
        return None
    return int(value) * q.MIB
