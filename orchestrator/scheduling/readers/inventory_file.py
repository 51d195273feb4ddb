"""An inventory an admin declares in YAML (and tests use, on machines without a GPU).

    nodes:
      - name: gpu-box
        labels: {zone: lab}
        taints: [{key: nvidia.com/gpu, value: present, effect: NoSchedule}]
        gpus:
          - {uuid: GPU-0a1b..., product: NVIDIA A10G, memory: 24Gi}
          - {product: Tesla T4, memory: 16Gi, count: 2}              # cards without UUIDs
          - {uuid: GPU-2c3d..., product: NVIDIA A10G, memory: 24Gi, sharing: time-slicing, replicas: 4}
          - uuid: GPU-4e5f...
            product: NVIDIA A100-SXM4-80GB
            memory: 80Gi
            mig:                                                       # the card is in MIG mode
              - {uuid: MIG-6a7b..., profile: 1g.10gb, memory: 9728Mi}

Errors name the file and line. ``load_inventory`` is the only I/O.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.scheduling import quantities as q
from orchestrator.scheduling.flavors import TAINT_EFFECTS
from orchestrator.scheduling.inventory import Gpu, Inventory, MigDevice, Node, Sharing, Taint
from orchestrator.scheduling.yamlfile import Doc, parse_yaml, read_yaml

_GPU_KEYS = {"uuid", "product", "memory", "count", "sharing", "replicas", "mig"}


def load_inventory(path: str | Path) -> Inventory:
    return parse_inventory_doc(read_yaml(path), f"file:{path}")


def parse_inventory(text: str, source: str = "<inventory>") -> Inventory:
    return parse_inventory_doc(parse_yaml(text, source), "declared")


def parse_inventory_doc(doc: Doc, source: str) -> Inventory:
    root = doc.check_keys("the inventory file", {"nodes"}, {"nodes"})
    nodes: list[Node] = []
    seen_nodes: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    for item in root["nodes"].sequence("nodes"):
        node = _node(item, seen_ids)
        if node.name in seen_nodes:
            raise item.error(f"node {node.name!r} is listed twice (first on line {seen_nodes[node.name]})")
        seen_nodes[node.name] = item.line
        nodes.append(node)
    return Inventory(tuple(nodes), source, None if nodes else "no nodes declared")


def _node(doc: Doc, seen_ids: dict[str, int]) -> Node:
    fields = doc.check_keys("a node", {"name", "labels", "taints", "gpus"}, {"name"})
    name = fields["name"].text("node name")
    what = f"node {name!r}"
    labels = tuple(
        sorted((k, v.text(f"{what} label {k}")) for k, v in fields["labels"].items(f"{what} labels"))
        if "labels" in fields
        else ()
    )
    taints = []
    for t in fields["taints"].sequence(f"{what} taints") if "taints" in fields else []:
        tf = t.check_keys(f"{what} taint", {"key", "value", "effect"}, {"key"})
        effect = tf["effect"].text("effect") if "effect" in tf else "NoSchedule"
        if effect not in TAINT_EFFECTS:
            raise tf["effect"].error(f"{what}: a taint's effect is one of {', '.join(TAINT_EFFECTS)}")
        taints.append(
            Taint(tf["key"].text("key"), tf["value"].text("value") if "value" in tf else "", effect)
        )
    gpus: list[Gpu] = []
    migs: list[MigDevice] = []
    for item in fields["gpus"].sequence(f"{what} gpus") if "gpus" in fields else []:
        _gpu(item, what, len(gpus), gpus, migs, seen_ids)
    return Node(name, tuple(gpus), tuple(migs), labels, tuple(taints))


def _gpu(
    doc: Doc, what: str, index: int, gpus: list[Gpu], migs: list[MigDevice], seen: dict[str, int]
) -> None:
    f = doc.check_keys(f"a GPU of {what}", _GPU_KEYS, {"product"})
    product = f["product"].text("product")
    memory = _bytes(f["memory"], "GPU memory") if "memory" in f else None
    uuid = _unique(f["uuid"], seen) if "uuid" in f else None
    count = f["count"].integer("count", minimum=1) if "count" in f else 1
    if count > 1 and uuid is not None:
        raise f["count"].error(f"{what}: a uuid names one card; list cards with UUIDs one by one")
    sharing = f["sharing"].choice(f"{what}: sharing", Sharing) if "sharing" in f else Sharing.NONE
    replicas = f["replicas"].integer("replicas", minimum=1) if "replicas" in f else 1
    if sharing is not Sharing.NONE and replicas < 2:
        raise doc.error(f"{what}: a shared card needs replicas: 2 or more")
    if sharing is Sharing.NONE and "replicas" in f:
        raise f["replicas"].error(f"{what}: replicas without sharing: time-slicing (or mps)")
    mig_docs = f["mig"].sequence(f"{what} mig") if "mig" in f else []
    if mig_docs and sharing is not Sharing.NONE:
        raise f["mig"].error(
            f"{what}: a card in MIG mode is not also time-sliced here; share MIG instances instead"
        )
    if mig_docs and count > 1:
        raise f["mig"].error(f"{what}: list MIG cards one by one, each with its instances")
    for i in range(count):
        gpus.append(Gpu(product, uuid, memory, index + i, bool(mig_docs), sharing, replicas))
    for m in mig_docs:
        mf = m.check_keys(f"a MIG instance of {what}", {"uuid", "profile", "memory"}, {"profile"})
        profile = mf["profile"].text("profile")
        if not q.MIG_PROFILE.match(profile):
            raise mf["profile"].error(f"{what}: {profile!r} is not a MIG profile such as 1g.10gb")
        mig_uuid = _unique(mf["uuid"], seen) if "uuid" in mf else None
        mig_memory = _bytes(mf["memory"], "MIG memory") if "memory" in mf else None
        migs.append(MigDevice(profile, mig_uuid, mig_memory, uuid))


def _unique(doc: Doc, seen: dict[str, int]) -> str:
    uuid = doc.text("uuid")
    if uuid in seen:
        raise doc.error(f"uuid {uuid!r} is listed twice (first on line {seen[uuid]})")
    seen[uuid] = doc.line
    return uuid


def _bytes(doc: Doc, what: str) -> int:
    try:
        return q.parse_bytes(doc.text(what), what)
    except q.QuantityError as exc:
        raise doc.error(str(exc)) from exc
