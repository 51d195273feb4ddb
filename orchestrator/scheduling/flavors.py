"""Hardware flavors: the names users ask for (``a10g-small``) and what each one holds while it runs.

A :class:`Catalog` maps each flavor name to vCPU, memory, at most one GPU resource (whole cards
``nvidia.com/gpu: N``, a MIG slice ``nvidia.com/mig-1g.10gb: 1`` or a time-sliced share
``nvidia.com/gpu.shared: 1``), the GPU product and memory it needs, node selection (labels and
tolerations, as a Kueue ResourceFlavor) and whether it is ZeroGPU (holds no GPU between calls).
``flavors.yaml`` beside this module is the default, with the Hub's names and figures; an admin copies it
and edits it. The loader refuses a mistake with the file and line. This module does no I/O besides
reading that file; it knows nothing of inventories or quotas.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache, cached_property
from pathlib import Path

from orchestrator.scheduling import quantities as q
from orchestrator.scheduling.yamlfile import Doc, parse_yaml, read_yaml

DEFAULT_CATALOG = Path(__file__).with_name("flavors.yaml")
NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


class GpuKind(StrEnum):
    WHOLE = "whole"
    """Whole cards (``nvidia.com/gpu``): each holder alone on each card."""
    MIG = "mig"
    """A MIG instance (``nvidia.com/mig-<profile>``): isolated memory and compute, any tenant."""
    SHARED = "shared"
    """One time-sliced (or MPS) replica of a card: no memory isolation, so one team per card at a time."""


@dataclass(frozen=True)
class GpuSpec:
    """The GPU half of a flavor: which resource, how many, and which cards qualify."""

    kind: GpuKind
    resource: str
    count: int
    products: tuple[str, ...] = ()
    """Accepted products, matched word by word (``A10G`` matches ``NVIDIA A10G`` and GFD's ``NVIDIA-A10G``);
    empty: any product."""
    memory: int | None = None
    """GPU memory per card in bytes as advertised (``24Gi``); a card qualifies with 90 % of it, since
    drivers report a little less than the marketing figure (an A10G reports 23,028 MiB)."""

    @property
    def profile(self) -> str | None:
        return q.mig_profile(self.resource)


@dataclass(frozen=True)
class Toleration:
    """A Kubernetes toleration: ``operator`` ``Exists`` ignores ``value``; no ``effect`` matches all."""

    key: str
    operator: str = "Equal"
    value: str = ""
    effect: str | None = None


@dataclass(frozen=True)
class NodeSelection:
    labels: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[Toleration, ...] = ()


@dataclass(frozen=True)
class Flavor:
    name: str
    pretty_name: str
    cpu: int
    """Millicores."""
    memory: int
    """Bytes."""
    gpu: GpuSpec | None = None
    zero_gpu: bool = False
    """ZeroGPU: the app holds ``cpu``/``memory`` only; ``gpu`` is what one ``@spaces.GPU`` call gets, from
    the ZeroGPU device service, not from admission."""
    node: NodeSelection = field(default_factory=NodeSelection)
    disk: int | None = None
    hourly_price: str | None = None
    """USD per hour as the Hub lists it (text, for display only)."""
    line: int | None = None
    """Where the flavor is defined in its catalog file, for messages."""

    @property
    def holds_gpu(self) -> bool:
        """True when admission must find it devices (a GPU flavor that is not ZeroGPU)."""
        return self.gpu is not None and not self.zero_gpu

    @cached_property
    def requests(self) -> tuple[tuple[str, int], ...]:
        """What the flavor holds while admitted, as (resource, amount) pairs."""
        held = [(q.CPU, self.cpu), (q.MEMORY, self.memory)]
        if self.holds_gpu and self.gpu is not None:
            held.append((self.gpu.resource, self.gpu.count))
        return tuple(held)

    def describe(self) -> str:
        """``4 vCPU · 15Gi · 1x A10G (24Gi)`` for lists and messages."""
        parts = [q.format_amount(q.CPU, self.cpu), q.format_amount(q.MEMORY, self.memory)]
        if self.gpu is not None:
            product = "/".join(self.gpu.products) or "any GPU"
            unit = {GpuKind.WHOLE: "", GpuKind.MIG: f" MIG {self.gpu.profile}", GpuKind.SHARED: " share"}
            memory = f" ({q.format_amount(q.MEMORY, self.gpu.memory)})" if self.gpu.memory else ""
            parts.append(f"{self.gpu.count}x {product}{unit[self.gpu.kind]}{memory}")
            if self.zero_gpu:
                parts[-1] = "ZeroGPU: " + parts[-1] + " per call"
        return " · ".join(parts)


class Catalog(Mapping[str, Flavor]):
    """Flavors by name, in the order the file lists them (the order lists and messages show)."""

    def __init__(self, flavors: Iterable[Flavor], source: str = "<catalog>") -> None:
        self._by_name = {flavor.name: flavor for flavor in flavors}
        self.source = source

    def __getitem__(self, name: str) -> Flavor:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    @property
    def flavors(self) -> tuple[Flavor, ...]:
        return tuple(self._by_name.values())


# --- loading -------------------------------------------------------------------------------------

_FLAVOR_KEYS = {"name", "cpu", "memory", "disk", "price", "resources", "gpu", "zero_gpu", "node"}


def parse_catalog(text: str, source: str = "<flavors>") -> Catalog:
    """A catalog from YAML text (a top-level ``flavors:`` mapping of name to fields)."""
    return parse_catalog_doc(parse_yaml(text, source))


def load_catalog(path: str | Path) -> Catalog:
    """The catalog in the YAML file at ``path``; errors name the file and line."""
    doc = read_yaml(path)
    return parse_catalog_doc(doc)


def parse_catalog_doc(doc: Doc) -> Catalog:
    top = doc.mapping("the flavors file")
    root = doc.check_keys(
        "the flavors file", {"flavors"} | {k for k in top if k.startswith("x-")}, {"flavors"}
    )
    flavors = [_flavor(name, d) for name, d in root["flavors"].items("flavors")]
    if not flavors:
        raise root["flavors"].error("flavors is empty: list at least one flavor")
    return Catalog(tuple(flavors), doc.source)


@cache
def default_catalog() -> Catalog:
    """The Hub's flavors with the Hub's figures (``flavors.yaml`` beside this module)."""
    return load_catalog(DEFAULT_CATALOG)


def _flavor(name: str, doc: Doc) -> Flavor:
    what = f"flavor {name!r}"
    if not NAME.match(name):
        raise doc.error(f"{what}: a flavor name is lower-case letters, digits, '.' and '-'")
    fields = doc.check_keys(what, _FLAVOR_KEYS, {"cpu", "memory"})
    cpu = _amount(fields["cpu"], q.CPU, f"{what} cpu")
    memory = _amount(fields["memory"], q.MEMORY, f"{what} memory")
    if cpu <= 0 or memory <= 0:
        raise doc.error(f"{what}: cpu and memory must be more than zero")
    zero_gpu = fields["zero_gpu"].boolean(f"{what} zero_gpu") if "zero_gpu" in fields else False
    gpu = _gpu(fields, what, doc)
    if zero_gpu and gpu is None:
        raise doc.error(f"{what}: a ZeroGPU flavor names the GPU one call gets under resources")
    disk = _amount(fields["disk"], q.MEMORY, f"{what} disk") if "disk" in fields else None
    price = fields["price"].text(f"{what} price") if "price" in fields else None
    pretty = fields["name"].text(f"{what} name") if "name" in fields else name
    node = _node(fields["node"], what) if "node" in fields else NodeSelection()
    return Flavor(name, pretty, cpu, memory, gpu, zero_gpu, node, disk, price, doc.line)


def _amount(doc: Doc, resource: str, what: str) -> int:
    try:
        return q.parse_amount(resource, doc.text(what), what)
    except q.QuantityError as exc:
        raise doc.error(str(exc)) from exc


def _gpu(fields: dict[str, Doc], what: str, doc: Doc) -> GpuSpec | None:
    if "resources" not in fields:
        if "gpu" in fields:
            raise fields["gpu"].error(
                f"{what}: gpu without resources; add e.g. resources: {{nvidia.com/gpu: 1}}"
            )
        return None
    resources = fields["resources"].mapping(f"{what} resources")
    if not resources:
        return None
    if len(resources) > 1:
        raise fields["resources"].error(
            f"{what}: one GPU resource per flavor (a container asking for two device types sees only one)"
        )
    ((resource, count_doc),) = resources.items()
    if resource in (q.CPU, q.MEMORY):
        raise count_doc.error(f"{what}: give {resource} as the flavor's own '{resource}:' key")
    if resource == q.WHOLE_GPU:
        kind = GpuKind.WHOLE
    elif resource == q.SHARED_GPU:
        kind = GpuKind.SHARED
    elif (profile := q.mig_profile(resource)) is not None and q.MIG_PROFILE.match(profile):
        kind = GpuKind.MIG
    else:
        raise count_doc.error(
            f"{what}: unknown resource {resource!r} (nvidia.com/gpu, nvidia.com/gpu.shared or "
            "nvidia.com/mig-<profile> such as nvidia.com/mig-1g.10gb)"
        )
    count = count_doc.integer(f"{what} {resource}", minimum=1)
    if kind is GpuKind.SHARED and count != 1:
        raise count_doc.error(
            f"{what}: a time-sliced share is one replica; more gives no more GPU (ask for whole cards)"
        )
    if kind is GpuKind.MIG and count != 1:
        raise count_doc.error(
            f"{what}: CUDA uses one MIG instance per process; ask for a larger profile instead"
        )
    products: tuple[str, ...] = ()
    memory = None
    if "gpu" in fields:
        gpu = fields["gpu"].check_keys(f"{what} gpu", {"product", "memory"})
        if "product" in gpu:
            product = gpu["product"]
            items = [product] if product.is_scalar() else product.sequence(f"{what} gpu product")
            products = tuple(item.text(f"{what} gpu product") for item in items)
        if "memory" in gpu:
            memory = _amount(gpu["memory"], q.MEMORY, f"{what} gpu memory")
    return GpuSpec(kind, resource, count, products, memory)


def _node(doc: Doc, what: str) -> NodeSelection:
    fields = doc.check_keys(f"{what} node", {"labels", "tolerations"})
    labels = tuple(
        (key, value.text(f"{what} node label {key}"))
        for key, value in (fields["labels"].items(f"{what} node labels") if "labels" in fields else [])
    )
    tolerations = []
    for item in fields["tolerations"].sequence(f"{what} tolerations") if "tolerations" in fields else []:
        t = item.check_keys(f"{what} toleration", {"key", "operator", "value", "effect"}, {"key"})
        operator = t["operator"].text("operator") if "operator" in t else "Equal"
        if operator not in ("Equal", "Exists"):
            raise t["operator"].error(f"{what}: toleration operator is Equal or Exists, not {operator!r}")
        effect = t["effect"].text("effect") if "effect" in t else None
        if effect is not None and effect not in TAINT_EFFECTS:
            raise t["effect"].error(f"{what}: toleration effect is one of {', '.join(TAINT_EFFECTS)}")
        value = t["value"].text("value") if "value" in t else ""
        tolerations.append(Toleration(t["key"].text("key"), operator, value, effect))
    return NodeSelection(labels, tuple(tolerations))
