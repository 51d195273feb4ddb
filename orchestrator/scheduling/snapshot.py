"""The state admission decides on: quotas, who holds what, and usage per team and cohort, kept current
one admission at a time so that a decision never rescans every Space (as Kueue's cache).

For each team and (flavor, resource) the snapshot keeps the team's usage ``U``; for each cohort the sum
over its members of ``max(0, U - guaranteed)``, the part of their usage drawn from what the cohort
lends. ``assume`` and ``forget`` change both in constant time. Only the :class:`Scheduler` writes;
``admit`` and everything under it only read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from orchestrator.scheduling.devices import DeviceIndex
from orchestrator.scheduling.flavors import Catalog
from orchestrator.scheduling.inventory import Inventory
from orchestrator.scheduling.matching import Availability, catalog_availability
from orchestrator.scheduling.quotas import Key, QuotaBook, TeamQuota
from orchestrator.scheduling.teams import TeamDirectory
from orchestrator.scheduling.workloads import Admission


@dataclass(frozen=True)
class Policy:
    idle_after: float = 300.0
    """Seconds without a request after which an admitted Space counts as idle: it is put to sleep to make
    room for its own team before anything busy is preempted."""
    explain_holders: int = 5
    """How many holders an explanation names before saying "and N more"."""


class Snapshot:
    def __init__(
        self,
        catalog: Catalog,
        inventory: Inventory,
        quotas: QuotaBook | None = None,
        directory: TeamDirectory | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.catalog = catalog
        self.quotas = quotas or QuotaBook()
        self.directory = directory or TeamDirectory()
        self.policy = policy or Policy()
        self.admissions: dict[str, Admission] = {}
        self.last_request: dict[str, float] = {}
        self.preempting: dict[str, str] = {}
        """Target Space -> the Space it is being stopped for (still holding until released)."""
        self._by_team: dict[str | None, dict[str, None]] = {}
        self._usage: dict[str | None, dict[Key, int]] = {}
        self._cohort_used: dict[str, dict[Key, int]] = {}
        self._lendable: dict[str, dict[Key, int]] = {}
        self._seq = 0
        self.set_inventory(inventory)
        self.set_quotas(self.quotas)

    # --- reading --------------------------------------------------------------------------------

    def team_of(self, owner: str) -> str | None:
        return self.directory.team_of(owner, self.quotas.teams)

    def team_quota(self, team: str | None) -> TeamQuota | None:
        return self.quotas.teams.get(team) if team is not None else None

    def usage(self, team: str | None, flavor: str, resource: str) -> int:
        return self._usage.get(team, {}).get((flavor, resource), 0)

    def cohort_used(self, cohort: str, flavor: str, resource: str) -> int:
        return self._cohort_used.get(cohort, {}).get((flavor, resource), 0)

    def lendable(self, cohort: str, flavor: str, resource: str) -> int:
        return self._lendable.get(cohort, {}).get((flavor, resource), 0)

    def team_admissions(self, team: str | None) -> Iterator[Admission]:
        for space in self._by_team.get(team, {}):
            yield self.admissions[space]

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # --- writing (the scheduler's) ---------------------------------------------------------------

    def assume(self, admission: Admission) -> None:
        """Count ``admission`` as holding its quota and devices."""
        self.admissions[admission.space] = admission
        self._by_team.setdefault(admission.team, {})[admission.space] = None
        self._add_usage(admission, +1)
        self.index.hold(admission.space, admission.team, admission.devices)

    def forget(self, space: str) -> Admission | None:
        """Release what ``space`` holds; ``None`` if it held nothing."""
        admission = self.admissions.pop(space, None)
        if admission is None:
            return None
        self._by_team.get(admission.team, {}).pop(space, None)
        self._add_usage(admission, -1)
        self.index.free(admission.devices)
        self.preempting.pop(space, None)
        return admission

    def touch(self, space: str, now: float) -> None:
        """A request reached ``space``: it is not idle."""
        self.last_request[space] = now

    def set_quotas(self, quotas: QuotaBook) -> None:
        """Take a new quota book (live: what runs keeps running; what waits is judged by the new one)."""
        self.quotas = quotas
        self._lendable = {}
        for cohort, members in quotas.cohorts().items():
            lendable: dict[Key, int] = {}
            for name in members:
                for key, quota in quotas.teams[name].limits.items():
                    lendable[key] = lendable.get(key, 0) + quota.lendable
            self._lendable[cohort] = lendable
        self._cohort_used = {}
        for team, usage in self._usage.items():
            for key, amount in usage.items():
                self._shift_cohort(team, key, 0, amount)

    def set_inventory(self, inventory: Inventory) -> None:
        """Take a new inventory; admitted Spaces keep the devices that still exist."""
        self.inventory = inventory
        self.index = DeviceIndex(self.catalog, inventory)
        self.availability: dict[str, Availability] = catalog_availability(self.catalog, inventory)
        for admission in self.admissions.values():
            self.index.hold(admission.space, admission.team, admission.devices)

    def _add_usage(self, admission: Admission, sign: int) -> None:
        usage = self._usage.setdefault(admission.team, {})
        for resource, amount in admission.usage:
            key = (admission.flavor, resource)
            before = usage.get(key, 0)
            after = before + sign * amount
            usage[key] = after
            self._shift_cohort(admission.team, key, before, after)

    def _shift_cohort(self, team: str | None, key: Key, before: int, after: int) -> None:
        quota = self.team_quota(team)
        if quota is None or quota.cohort is None:
            return
        limit = quota.limits.get(key)
        if limit is None:
            return
        guaranteed = limit.guaranteed
        delta = max(0, after - guaranteed) - max(0, before - guaranteed)
        if delta:
            used = self._cohort_used.setdefault(quota.cohort, {})
            used[key] = used.get(key, 0) + delta
