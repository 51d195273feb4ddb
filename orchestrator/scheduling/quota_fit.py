"""Does a flavor fit a team's quota now: the Kueue arithmetic, one (flavor, resource) at a time.

A request of ``q`` for a team using ``U`` of nominal ``N`` fits when, after adding it:

* without a cohort: ``U + q <= N``;
* in a cohort: ``U + q <= N + borrowing_limit`` and the cohort's lent-out usage, the sum over members
  of ``max(0, U_member - guaranteed_member)``, stays within what the members lend,
  the sum of ``nominal - guaranteed``. A team's own nominal quota counts as lent while it does not use it,
  which is why a team under its nominal quota may have to reclaim it from borrowers.

``gone`` pretends some admissions were released, to test a preemption without changing the snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.scheduling import quantities as q
from orchestrator.scheduling.flavors import Flavor
from orchestrator.scheduling.quotas import ResourceQuota
from orchestrator.scheduling.snapshot import Snapshot
from orchestrator.scheduling.workloads import Admission


@dataclass(frozen=True)
class QuotaCheck:
    flavor: str
    resource: str
    requested: int
    used: int
    """The team's usage before this request (less what ``gone`` would free)."""
    nominal: int
    borrowing_limit: int | None
    lending_limit: int | None
    cohort: str | None
    cohort_free: int | None
    """What the cohort can still lend (before this request); ``None`` without a cohort."""
    fits: bool
    borrowing: int
    """How much of the team's usage would be above its nominal quota after this request."""
    short_in: str | None = None
    """``team`` when the team's own limit is reached, ``cohort`` when the cohort has nothing left to lend."""
    short_by: int = 0

    @property
    def problem(self) -> str | None:
        """Why it does not fit, in words (made only when asked: decisions are made far more often)."""
        if self.short_in is None:
            return None
        by = q.format_amount(self.resource, self.short_by)
        if self.short_in == "cohort":
            return f"cohort {self.cohort} is short by {by}"
        if self.cohort is None or self.borrowing_limit is None:
            return f"over the nominal quota by {by}"
        cap = q.format_amount(self.resource, self.nominal + self.borrowing_limit)
        return f"over nominal quota plus borrowing limit ({cap}) by {by}"

    def describe(self) -> str:
        def fmt(n: int) -> str:
            return q.format_amount(self.resource, n)

        text = f"{self.flavor} {self.resource}: {fmt(self.used)} used of nominal {fmt(self.nominal)}"
        if self.cohort is not None:
            limit = "no limit" if self.borrowing_limit is None else fmt(self.borrowing_limit)
            text += (
                f", may borrow {limit} from cohort {self.cohort} ({fmt(self.cohort_free or 0)} free there)"
            )
        text += f"; asks {fmt(self.requested)}"
        if self.problem:
            return f"{text}: {self.problem}"
        return f"{text}: fits" + (f", borrowing {fmt(self.borrowing)}" if self.borrowing else "")


@dataclass(frozen=True)
class QuotaVerdict:
    team: str | None
    enforced: bool
    checks: tuple[QuotaCheck, ...]
    fits: bool
    within_nominal: bool
    """True when the team stays within its nominal quota after admission (it may reclaim from borrowers)."""
    never: str | None = None
    """Why no amount of waiting can make it fit (no quota at all, or more than the team can ever hold)."""

    @property
    def failed(self) -> tuple[QuotaCheck, ...]:
        return tuple(c for c in self.checks if not c.fits)


def _removed(gone: Sequence[Admission], flavor: str, resource: str) -> dict[str | None, int]:
    out: dict[str | None, int] = {}
    for admission in gone:
        if admission.flavor != flavor:
            continue
        for name, amount in admission.usage:
            if name == resource:
                out[admission.team] = out.get(admission.team, 0) + amount
    return out


def check_quota(
    snapshot: Snapshot, team: str | None, flavor: Flavor, gone: Sequence[Admission] = ()
) -> QuotaVerdict:
    if not snapshot.quotas.enforced:
        return QuotaVerdict(team, False, (), True, True)
    team_quota = snapshot.team_quota(team)
    checks: list[QuotaCheck] = []
    never: str | None = None
    for resource, amount in flavor.requests:
        limit = team_quota.get(flavor.name, resource) if team_quota is not None else None
        if limit is None:
            if q.is_gpu_resource(resource) and never is None:
                never = (
                    f"team {team} has no quota for {flavor.name} ({resource})"
                    if team is not None
                    else f"the owner belongs to no team with a quota for {flavor.name}"
                )
            continue
        assert team_quota is not None
        removed = _removed(gone, flavor.name, resource) if gone else {}
        check = _check(snapshot, team, team_quota.cohort, flavor.name, resource, amount, limit, removed)
        checks.append(check)
        if never is None and not check.fits:  # what fits now can fit some day
            never = _never(snapshot, team, check, limit)
    fits = never is None and all(c.fits for c in checks)
    within = all(c.borrowing == 0 for c in checks)
    return QuotaVerdict(team, True, tuple(checks), fits, within, never)


def _contribution(used: int, limit: ResourceQuota) -> int:
    return max(0, used - limit.guaranteed)


def _check(
    snapshot: Snapshot,
    team: str | None,
    cohort: str | None,
    flavor: str,
    resource: str,
    amount: int,
    limit: ResourceQuota,
    removed: dict[str | None, int],
) -> QuotaCheck:
    used = snapshot.usage(team, flavor, resource) - removed.get(team, 0)
    after = used + amount
    short_in: str | None = None
    short_by = 0
    cohort_free: int | None = None
    if cohort is None:
        if after > limit.nominal:
            short_in, short_by = "team", after - limit.nominal
    else:
        pool = snapshot.lendable(cohort, flavor, resource)
        lent = snapshot.cohort_used(cohort, flavor, resource) - _lent_by_gone(
            snapshot, cohort, flavor, resource, removed
        )
        cohort_free = max(0, pool - lent)
        cap = limit.nominal + limit.borrowing_limit if limit.borrowing_limit is not None else None
        lent_after = lent - _contribution(used, limit) + _contribution(after, limit)
        if cap is not None and after > cap:
            short_in, short_by = "team", after - cap
        elif lent_after > pool:
            short_in, short_by = "cohort", lent_after - pool
    in_cohort = cohort is not None
    return QuotaCheck(
        flavor,
        resource,
        amount,
        used,
        limit.nominal,
        limit.borrowing_limit if in_cohort else None,
        limit.lending_limit if in_cohort else None,
        cohort,
        cohort_free,
        short_in is None,
        max(0, after - limit.nominal),
        short_in,
        short_by,
    )


def _lent_by_gone(
    snapshot: Snapshot, cohort: str, flavor: str, resource: str, removed: dict[str | None, int]
) -> int:
    """How much of what the cohort lends the ``removed`` usage would give back."""
    total = 0
    for other, amount_gone in removed.items():
        quota = snapshot.team_quota(other)
        limit = quota.get(flavor, resource) if quota is not None else None
        if quota is None or quota.cohort != cohort or limit is None:
            continue
        before = snapshot.usage(other, flavor, resource)
        total += _contribution(before, limit) - _contribution(before - amount_gone, limit)
    return total


def _never(snapshot: Snapshot, team: str | None, check: QuotaCheck, limit: ResourceQuota) -> str | None:
    """The most the team could ever hold of the check's (flavor, resource), if the request exceeds it."""

    def fmt(n: int) -> str:
        return q.format_amount(check.resource, n)

    if check.cohort is None:
        ceiling = limit.nominal
        how = "its nominal quota, without a cohort to borrow from"
    else:
        pool_ceiling = snapshot.lendable(check.cohort, check.flavor, check.resource) + limit.guaranteed
        cap = limit.nominal + limit.borrowing_limit if limit.borrowing_limit is not None else pool_ceiling
        ceiling = min(cap, pool_ceiling)
        how = f"nominal {fmt(limit.nominal)} plus what cohort {check.cohort} can lend"
    if check.requested <= ceiling:
        return None
    return (
        f"{check.flavor} needs {fmt(check.requested)} {check.resource}; team {team} can hold at most "
        f"{fmt(ceiling)} ({how})"
    )


def borrows(snapshot: Snapshot, team: str | None, flavor: Flavor) -> bool:
    """Would admitting ``flavor`` take ``team`` above its nominal quota? (The quick question: ordering.)"""
    quota = snapshot.team_quota(team)
    if quota is None:
        return False
    for resource, amount in flavor.requests:
        limit = quota.limits.get((flavor.name, resource))
        if limit is not None and snapshot.usage(team, flavor.name, resource) + amount > limit.nominal:
            return True
    return False
