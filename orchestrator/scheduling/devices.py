"""Which device each Space holds, which are free, and where a flavor's devices can be found.

Devices are grouped in classes (one node, one kind of unit: the same product, memory and MIG profile),
so finding N free cards for a flavor looks at one counter per node instead of every card. Time-sliced
replicas belong to a tenancy group (their card, or their node on Kubernetes) that serves one team at a
time. ``place`` is pure: it reads the index, and may pretend some Spaces were gone (to test a
preemption) without changing anything; ``hold`` and ``free`` are called by the snapshot only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from orchestrator.scheduling.flavors import Catalog, Flavor, GpuKind
from orchestrator.scheduling.inventory import Device, Inventory, devices
from orchestrator.scheduling.matching import compatible_devices

ClassKey = tuple[str, str, str, int | None, str | None]
"""(node, kind, product, memory, MIG profile)."""


def class_of(device: Device) -> ClassKey:
    return (device.node, device.kind.value, device.product, device.memory, device.profile)


@dataclass(frozen=True)
class Placement:
    node: str | None
    devices: tuple[Device, ...]


@dataclass(frozen=True)
class Shortage:
    """No node has the devices: per node, what it has free (for the explanation)."""

    wanted: int
    most_free: int
    """The most suitable devices free on one node."""
    per_node: tuple[tuple[str, int, int], ...] = ()
    """(node, free, total) for nodes with suitable devices (filled in when asked for detail)."""
    blocked_by_tenancy: int = 0
    """Replicas free but on cards another team uses (time-slicing shares a card with one team only)."""


class DeviceIndex:
    def __init__(self, catalog: Catalog, inventory: Inventory) -> None:
        self.inventory = inventory
        self.devices: dict[str, Device] = {d.id: d for d in devices(inventory)}
        self.holder: dict[str, str] = {}
        self._class: dict[str, ClassKey] = {i: class_of(d) for i, d in self.devices.items()}
        self._members: dict[ClassKey, tuple[str, ...]] = {}
        for device_id, key in self._class.items():
            self._members[key] = (*self._members.get(key, ()), device_id)
        # Free devices per class, as insertion-ordered dicts (a deterministic first pick).
        self._free: dict[ClassKey, dict[str, None]] = {k: dict.fromkeys(m) for k, m in self._members.items()}
        self._groups: dict[ClassKey, dict[str, list[str]]] = {}
        for key, members in self._members.items():
            for device_id in members:
                group = self.devices[device_id].tenancy
                if group is not None:
                    self._groups.setdefault(key, {}).setdefault(group, []).append(device_id)
        self.classes_by_space: dict[str, frozenset[ClassKey]] = {}
        """The device classes each Space holds (to find who could make room for a flavor)."""
        self.tenant: dict[str, str | None] = {}
        """Tenancy group -> the team whose Spaces hold its replicas (absent: nobody)."""
        self._tenant_holders: dict[str, int] = {}
        self.flavor_classes: dict[str, tuple[ClassKey, ...]] = {}
        for flavor in catalog.flavors:
            if flavor.holds_gpu:
                found = compatible_devices(flavor, inventory)
                keys = {class_of(d) for group in found.values() for d in group}
                self.flavor_classes[flavor.name] = tuple(k for k in self._members if k in keys)

    # --- bookkeeping ----------------------------------------------------------------------------

    def hold(self, space: str, team: str | None, held: Iterable[Device]) -> None:
        held = tuple(held)
        if held:
            self.classes_by_space[space] = frozenset(self.classes_of(held))
        for device in held:
            if device.id not in self.devices:
                continue  # a device that left the inventory; it is kept by the admission only
            self.holder[device.id] = space
            self._free[self._class[device.id]].pop(device.id, None)
            if device.tenancy is not None:
                self.tenant[device.tenancy] = team
                self._tenant_holders[device.tenancy] = self._tenant_holders.get(device.tenancy, 0) + 1

    def free(self, held: Iterable[Device]) -> None:
        for device in held:
            space = self.holder.pop(device.id, None)
            if space is None:
                continue
            self.classes_by_space.pop(space, None)
            self._free[self._class[device.id]][device.id] = None
            if device.tenancy is not None:
                left = self._tenant_holders[device.tenancy] - 1
                if left:
                    self._tenant_holders[device.tenancy] = left
                else:
                    del self._tenant_holders[device.tenancy]
                    del self.tenant[device.tenancy]

    def classes_of(self, held: Iterable[Device]) -> set[ClassKey]:
        return {self._class[d.id] for d in held if d.id in self._class}

    def total(self, key: ClassKey) -> int:
        return len(self._members[key])

    def free_count(self, key: ClassKey) -> int:
        return len(self._free[key])

    # --- placement ------------------------------------------------------------------------------

    def place(
        self,
        flavor: Flavor,
        team: str | None,
        gone: Collection[str] = (),
        gone_devices: Collection[str] = (),
        *,
        detail: bool = False,
    ) -> Placement | Shortage:
        """Devices for ``flavor`` on one node, as if the Spaces in ``gone`` (holding ``gone_devices``)
        had stopped. Whole cards go to the node where they fit tightest, to keep big nodes whole.
        ``detail`` lists every node's free devices in a :class:`Shortage`."""
        if not flavor.holds_gpu or flavor.gpu is None:
            return Placement(None, ())
        need = flavor.gpu.count
        keys = self.flavor_classes.get(flavor.name, ())
        if flavor.gpu.kind is GpuKind.SHARED:
            if detail:
                return self._place_shared(keys, team, gone, detail)
            quick = self._place_shared_now(keys, team)
            if gone and isinstance(quick, Shortage):
                return self._place_shared_freed(keys, team, gone, gone_devices) or quick
            return quick
        best: tuple[int, ClassKey] | None = None
        most = 0
        extra = self._freed_by_class(gone_devices) if gone_devices else {}
        for key in keys:
            free = len(self._free[key])
            if extra:
                free += len(extra.get(key, ()))
            if free > most:
                most = free
            if free >= need and (best is None or free < best[0]):
                best = (free, key)
                if free == need:
                    break
        if best is None:
            return Shortage(need, most, self._per_node(keys, extra) if detail else ())
        key = best[1]
        chosen = [*self._free[key], *extra.get(key, ())][:need]
        return Placement(key[0], tuple(self.devices[i] for i in chosen))

    def _freed_by_class(self, gone_devices: Collection[str]) -> dict[ClassKey, list[str]]:
        out: dict[ClassKey, list[str]] = {}
        for device_id in gone_devices:
            key = self._class.get(device_id)
            if key is not None and device_id in self.holder:
                out.setdefault(key, []).append(device_id)
        return out

    def _place_shared_now(self, keys: tuple[ClassKey, ...], team: str | None) -> Placement | Shortage:
        """The quick path of :meth:`_place_shared` with nobody pretended gone: look at free replicas only."""
        empty: str | None = None
        blocked = 0
        for key in keys:
            for device_id in self._free[key]:
                group = self.devices[device_id].tenancy
                if group is None or group not in self._tenant_holders:
                    empty = empty or device_id
                elif self.tenant.get(group) == team and team is not None:
                    return Placement(key[0], (self.devices[device_id],))
                else:
                    blocked += 1
        if empty is not None:
            return Placement(self.devices[empty].node, (self.devices[empty],))
        return Shortage(1, 0, (), blocked)

    def _place_shared_freed(
        self,
        keys: tuple[ClassKey, ...],
        team: str | None,
        gone: Collection[str],
        gone_devices: Collection[str],
    ) -> Placement | None:
        """A replica that only the Spaces in ``gone`` stand in the way of: only the cards they hold change."""
        wanted = set(keys)
        seen: set[str] = set()
        for device_id in gone_devices:
            device = self.devices.get(device_id)
            if device is None or device.tenancy is None or device.tenancy in seen:
                continue
            seen.add(device.tenancy)
            key = self._class[device_id]
            if key not in wanted:
                continue
            members = self._groups[key][device.tenancy]
            staying = {self.holder[i] for i in members if i in self.holder and self.holder[i] not in gone}
            if staying and (team is None or self.tenant.get(device.tenancy) != team):
                continue
            return Placement(key[0], (self.devices[device_id],))
        return None

    def _place_shared(
        self, keys: tuple[ClassKey, ...], team: str | None, gone: Collection[str], detail: bool
    ) -> Placement | Shortage:
        """A replica on a card (or node) that serves ``team`` already, else on one nobody uses."""
        empty: str | None = None
        blocked = 0
        for key in keys:
            for group, members in self._groups.get(key, {}).items():
                free = [i for i in members if i not in self.holder or self.holder[i] in gone]
                if not free:
                    continue
                holders = {self.holder[i] for i in members if i in self.holder and self.holder[i] not in gone}
                if not holders:
                    empty = empty or free[0]
                elif self.tenant.get(group) == team and team is not None:
                    return Placement(key[0], (self.devices[free[0]],))
                else:
                    blocked += len(free)
        if empty is not None:
            return Placement(self.devices[empty].node, (self.devices[empty],))
        extra = self._freed_by_class(
            [i for k in keys for i in self._members[k] if self.holder.get(i) in gone]
        )
        per_node = self._per_node(keys, extra)
        most = max((free for _, free, _ in per_node), default=0)
        return Shortage(1, most, per_node if detail else (), blocked)

    def _per_node(
        self, keys: Iterable[ClassKey], extra: dict[ClassKey, list[str]]
    ) -> tuple[tuple[str, int, int], ...]:
        return tuple((k[0], len(self._free[k]) + len(extra.get(k, ())), len(self._members[k])) for k in keys)

    def holders_in(self, keys: Iterable[ClassKey]) -> list[str]:
        """Spaces holding devices of the classes ``keys`` (each once, in device order)."""
        seen: dict[str, None] = {}
        for key in keys:
            for device_id in self._members[key]:
                space = self.holder.get(device_id)
                if space is not None:
                    seen[space] = None
        return list(seen)
