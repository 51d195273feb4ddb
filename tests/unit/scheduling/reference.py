"""A small reference model of the admission rules, written to be obviously right rather than fast: every
question is answered from scratch from the list of admissions, with no incremental state.

Quota arithmetic is restated here from Kueue's definitions (nominal, borrowing limit, lending limit,
cohort); device matching reuses ``matching`` (tested on its own)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from orchestrator.scheduling import quantities as q
from orchestrator.scheduling.flavors import Catalog, Flavor, GpuKind
from orchestrator.scheduling.inventory import Device, Inventory, devices
from orchestrator.scheduling.matching import compatible_devices
from orchestrator.scheduling.quotas import QuotaBook
from orchestrator.scheduling.workloads import Admission


@dataclass(frozen=True)
class Holding:
    """What the model needs of an admission."""

    space: str
    team: str | None
    flavor: str
    usage: tuple[tuple[str, int], ...]
    devices: tuple[str, ...]


def holdings(admissions: Iterable[Admission]) -> list[Holding]:
    return [Holding(a.space, a.team, a.flavor, a.usage, tuple(d.id for d in a.devices)) for a in admissions]


def used(held: Sequence[Holding], team: str | None, flavor: str, resource: str) -> int:
    return sum(n for h in held if h.team == team and h.flavor == flavor for r, n in h.usage if r == resource)


def team_ok(book: QuotaBook, held: Sequence[Holding], team: str, flavor: str, resource: str) -> bool:
    quota = book.teams[team]
    limit = quota.limits.get((flavor, resource))
    amount = used(held, team, flavor, resource)
    if limit is None:
        return amount == 0 or not q.is_gpu_resource(resource)
    if quota.cohort is None:
        return amount <= limit.nominal
    if limit.borrowing_limit is not None:
        return amount <= limit.nominal + limit.borrowing_limit
    return True


def cohort_ok(book: QuotaBook, held: Sequence[Holding], cohort: str, flavor: str, resource: str) -> bool:
    lent_out = lendable = 0
    for name, quota in book.teams.items():
        limit = quota.limits.get((flavor, resource))
        if quota.cohort != cohort or limit is None:
            continue
        guaranteed = limit.nominal - limit.lending_limit if limit.lending_limit is not None else 0
        lendable += limit.nominal - guaranteed
        lent_out += max(0, used(held, name, flavor, resource) - guaranteed)
    return lent_out <= lendable


def quota_fits(book: QuotaBook, held: Sequence[Holding], team: str | None, flavor: Flavor) -> bool:
    """Would adding ``flavor`` for ``team`` keep every limit that concerns it?"""
    if not book.teams:
        return True
    quota = book.teams.get(team) if team is not None else None
    if quota is None:
        return flavor.gpu is None or flavor.zero_gpu
    after = [*held, Holding("?", team, flavor.name, flavor.requests, ())]
    for resource, _ in flavor.requests:
        if (flavor.name, resource) not in quota.limits:
            if q.is_gpu_resource(resource):
                return False
            continue
        if not team_ok(book, after, quota.team, flavor.name, resource):
            return False
        if quota.cohort is not None and not cohort_ok(book, after, quota.cohort, flavor.name, resource):
            return False
    return True


def device_fits(
    catalog: Catalog, inventory: Inventory, held: Sequence[Holding], team: str | None, flavor: Flavor
) -> bool:
    """Is there, on one node, what ``flavor`` needs among devices nobody holds (one team per shared card)?"""
    if not flavor.holds_gpu or flavor.gpu is None:
        return True
    taken = {d for h in held for d in h.devices}
    tenants: dict[str, set[str | None]] = {}
    by_id = {d.id: d for d in devices(inventory)}
    for h in held:
        for d in h.devices:
            if d in by_id and by_id[d].tenancy is not None:
                tenants.setdefault(by_id[d].tenancy or "", set()).add(h.team)
    for found in compatible_devices(flavor, inventory).values():
        free = [d for d in found if d.id not in taken]
        if flavor.gpu.kind is GpuKind.SHARED:
            free = [
                d
                for d in free
                if tenants.get(d.tenancy or "", set()) <= {team}
                and (team is not None or not tenants.get(d.tenancy or ""))
            ]
        if len(free) >= flavor.gpu.count:
            return True
    return False


def fits(
    catalog: Catalog,
    inventory: Inventory,
    book: QuotaBook,
    held: Sequence[Holding],
    team: str | None,
    flavor: Flavor,
) -> bool:
    return quota_fits(book, held, team, flavor) and device_fits(catalog, inventory, held, team, flavor)


def device_problems(catalog: Catalog, inventory: Inventory, admissions: Sequence[Admission]) -> list[str]:
    """Devices held twice, unsuitable, spread over nodes, or a shared card serving two teams."""
    problems: list[str] = []
    owner: dict[str, str] = {}
    tenants: dict[str, set[str | None]] = {}
    for a in admissions:
        flavor = catalog[a.flavor]
        if not flavor.holds_gpu:
            if a.devices:
                problems.append(f"{a.space} holds devices for {a.flavor}")
            continue
        assert flavor.gpu is not None
        suitable = {d.id for group in compatible_devices(flavor, inventory).values() for d in group}
        if len(a.devices) != flavor.gpu.count:
            problems.append(f"{a.space} holds {len(a.devices)} devices for {a.flavor}")
        if len({d.node for d in a.devices}) > 1:
            problems.append(f"{a.space} holds devices on several nodes")
        for d in a.devices:
            if d.id in owner:
                problems.append(f"{d.id} held by {owner[d.id]} and {a.space}")
            owner[d.id] = a.space
            if d.id not in suitable:
                problems.append(f"{a.space} holds {d.id}, unsuitable for {a.flavor}")
            if d.tenancy is not None:
                tenants.setdefault(d.tenancy, set()).add(a.team)
    problems.extend(
        f"shared card {g} serves teams {sorted(map(str, t))}" for g, t in tenants.items() if len(t) > 1
    )
    return problems


def ids(devices_: Iterable[Device]) -> set[str]:
    return {d.id for d in devices_}
