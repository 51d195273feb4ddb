"""GPU quotas per team, with the semantics of Kueue's ClusterQueue.

Each team has a nominal quota per flavor and resource (``a10g-small`` / ``nvidia.com/gpu``: 4), may
belong to a cohort whose members lend each other unused quota, may borrow at most ``borrowing_limit``
above its nominal quota and lends at most ``lending_limit`` of it (the rest is guaranteed to it).
Resources a team's quota does not list are not limited, except GPU resources: a team may use a GPU
flavor only where its quota lists it (even at 0, to borrow). A book with no teams limits nothing
(one person with a GPU needs no quota). Plain values; ``quota_file`` reads them from YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from orchestrator.errors import InvalidInputError


class WithinTeam(StrEnum):
    """Which of its own team's Spaces a waiting Space may preempt (Kueue ``withinClusterQueue``)."""

    NEVER = "Never"
    LOWER_PRIORITY = "LowerPriority"


class ReclaimWithinCohort(StrEnum):
    """Which Spaces of borrowing teams a waiting Space may preempt to get its nominal quota back."""

    NEVER = "Never"
    LOWER_PRIORITY = "LowerPriority"
    ANY = "Any"


@dataclass(frozen=True)
class Preemption:
    within_team: WithinTeam = WithinTeam.LOWER_PRIORITY
    reclaim_within_cohort: ReclaimWithinCohort = ReclaimWithinCohort.ANY


@dataclass(frozen=True)
class ResourceQuota:
    nominal: int
    borrowing_limit: int | None = None
    """How far above ``nominal`` the team may go by borrowing; ``None``: as far as the cohort lends."""
    lending_limit: int | None = None
    """How much of ``nominal`` others may borrow; ``None``: all of it while unused."""

    @property
    def guaranteed(self) -> int:
        """The part of ``nominal`` never lent: ``nominal - lending_limit`` (0 without a lending limit)."""
        return self.nominal - self.lending_limit if self.lending_limit is not None else 0

    @property
    def lendable(self) -> int:
        return self.nominal - self.guaranteed


Key = tuple[str, str]
"""(flavor, resource)."""


@dataclass(frozen=True)
class TeamQuota:
    team: str
    cohort: str | None = None
    limits: Mapping[Key, ResourceQuota] = field(default_factory=dict)
    preemption: Preemption = field(default_factory=Preemption)

    def __post_init__(self) -> None:
        for (flavor, resource), quota in self.limits.items():
            where = f"team {self.team!r}, {flavor} {resource}"
            if quota.nominal < 0:
                raise InvalidInputError(f"{where}: the nominal quota cannot be negative")
            if quota.borrowing_limit is not None and quota.borrowing_limit < 0:
                raise InvalidInputError(f"{where}: the borrowing limit cannot be negative")
            if quota.lending_limit is not None and not 0 <= quota.lending_limit <= quota.nominal:
                raise InvalidInputError(f"{where}: the lending limit must be between 0 and the nominal quota")
            if self.cohort is None and (quota.borrowing_limit is not None or quota.lending_limit is not None):
                raise InvalidInputError(f"{where}: borrowing and lending limits need a cohort to borrow from")

    def get(self, flavor: str, resource: str) -> ResourceQuota | None:
        return self.limits.get((flavor, resource))

    def with_limit(self, flavor: str, resource: str, quota: ResourceQuota | None) -> TeamQuota:
        """A copy with ``quota`` for (flavor, resource); ``None`` removes the limit."""
        limits = dict(self.limits)
        if quota is None:
            limits.pop((flavor, resource), None)
        else:
            limits[(flavor, resource)] = quota
        return replace(self, limits=limits)


@dataclass(frozen=True)
class QuotaBook:
    teams: Mapping[str, TeamQuota] = field(default_factory=dict)

    @property
    def enforced(self) -> bool:
        return bool(self.teams)

    def cohort_members(self, cohort: str) -> tuple[str, ...]:
        return tuple(name for name, team in self.teams.items() if team.cohort == cohort)

    def cohorts(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {}
        for name, team in self.teams.items():
            if team.cohort is not None:
                out.setdefault(team.cohort, []).append(name)
        return {cohort: tuple(members) for cohort, members in out.items()}

    def with_team(self, team: TeamQuota) -> QuotaBook:
        return QuotaBook({**self.teams, team.team: team})

    def without_team(self, name: str) -> QuotaBook:
        return QuotaBook({k: v for k, v in self.teams.items() if k != name})
