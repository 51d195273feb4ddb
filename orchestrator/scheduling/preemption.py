"""Which Spaces to stop so that a waiting one fits, in the order Kueue's classic preemption uses, after
our own first step: idle Spaces of the same team go to sleep before anything busy is preempted.

1. When the team is full (it would go above its nominal quota) or no device is free: the team's own
   admitted Spaces that are idle (no request for ``Policy.idle_after``), longest idle first.
2. Then Kueue's candidates: Spaces of other teams of the cohort that are borrowing (only when the
   waiting Space stays within its team's nominal quota: it reclaims what is its own; per
   ``reclaim_within_cohort``), and the team's own Spaces of lower priority (``within_team``);
   borrowers first, then lowest priority, then most recently admitted.

Targets are added in that order until the request fits, then dropped in reverse order while it still
fits, so every target is needed. Only Spaces that would free what is short are considered: the same
flavor for quota, the same kind of device for devices. Pure: the snapshot is only read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.scheduling.decisions import Action, Target
from orchestrator.scheduling.devices import Placement, Shortage
from orchestrator.scheduling.flavors import Flavor
from orchestrator.scheduling.quota_fit import QuotaVerdict, check_quota
from orchestrator.scheduling.quotas import Preemption, ReclaimWithinCohort, WithinTeam
from orchestrator.scheduling.snapshot import Snapshot
from orchestrator.scheduling.workloads import Admission, SpaceRequest


def idle_seconds(snapshot: Snapshot, admission: Admission, now: float) -> float:
    return now - snapshot.last_request.get(admission.space, admission.admitted_at)


def _borrowing(snapshot: Snapshot, admission: Admission, gone: Sequence[Admission]) -> bool:
    """True when ``admission``'s team uses more than its nominal quota of ``admission``'s flavor."""
    quota = snapshot.team_quota(admission.team)
    if quota is None:
        return False
    for resource, _ in admission.usage:
        limit = quota.get(admission.flavor, resource)
        if limit is None:
            continue
        used = snapshot.usage(admission.team, admission.flavor, resource)
        used -= sum(
            amount
            for g in gone
            if g.team == admission.team and g.flavor == admission.flavor
            for name, amount in g.usage
            if name == resource
        )
        if used > limit.nominal:
            return True
    return False


def _team_borrows(snapshot: Snapshot, team: str) -> bool:
    """Does ``team`` use more than its nominal quota of anything (so some of its Spaces may be reclaimed)?"""
    quota = snapshot.team_quota(team)
    return quota is not None and any(
        snapshot.usage(team, flavor, resource) > limit.nominal
        for (flavor, resource), limit in quota.limits.items()
    )


@dataclass(frozen=True)
class Need:
    """A request that does not fit now, and why: its quota verdict and where devices stand."""

    request: SpaceRequest
    team: str | None
    flavor: Flavor
    verdict: QuotaVerdict
    placement: Placement | Shortage


def candidates(snapshot: Snapshot, need: Need, now: float) -> list[Admission]:
    """Admissions that could be stopped for ``need.request``, in the order they would be."""
    request, team, flavor, verdict, placement = (
        need.request,
        need.team,
        need.flavor,
        need.verdict,
        need.placement,
    )
    short_classes = (
        set(snapshot.index.flavor_classes.get(flavor.name, ())) if isinstance(placement, Shortage) else set()
    )

    def relevant(a: Admission) -> bool:
        if a.space in snapshot.preempting or a.space == request.space:
            return False
        if not verdict.fits and a.flavor == flavor.name:
            return True
        return bool(short_classes) and not short_classes.isdisjoint(
            snapshot.index.classes_by_space.get(a.space, ())
        )

    team_quota = snapshot.team_quota(team)
    policy = team_quota.preemption if team_quota is not None else Preemption()
    team_full = not verdict.within_nominal
    own = [a for a in snapshot.team_admissions(team) if relevant(a)]
    idle: list[Admission] = []
    if team_full or short_classes:
        idle = [a for a in own if idle_seconds(snapshot, a, now) >= snapshot.policy.idle_after]
        idle.sort(key=lambda a: (snapshot.last_request.get(a.space, a.admitted_at), a.seq))
    chosen = {a.space for a in idle}
    kueue: list[Admission] = []
    if policy.within_team is WithinTeam.LOWER_PRIORITY:
        kueue.extend(a for a in own if a.space not in chosen and a.priority < request.priority)
    reclaim = policy.reclaim_within_cohort
    cohort = team_quota.cohort if team_quota is not None else None
    if cohort is not None and reclaim is not ReclaimWithinCohort.NEVER and not team_full:
        for other in snapshot.quotas.cohort_members(cohort):
            if other == team or not _team_borrows(snapshot, other):
                continue
            for a in snapshot.team_admissions(other):
                if not relevant(a) or not _borrowing(snapshot, a, ()):
                    continue
                if reclaim is ReclaimWithinCohort.LOWER_PRIORITY and a.priority >= request.priority:
                    continue
                kueue.append(a)
    kueue.sort(key=lambda a: (a.team == team, a.priority, -a.seq))
    return idle + kueue


def choose_targets(snapshot: Snapshot, need: Need, now: float) -> tuple[Target, ...] | None:
    """The Spaces to stop so that the request fits, or ``None`` when stopping allowed ones would not do."""
    request, team, flavor, verdict, placement = (
        need.request,
        need.team,
        need.flavor,
        need.verdict,
        need.placement,
    )
    if verdict.never is not None:
        return None
    ordered = candidates(snapshot, need, now)
    if not ordered:
        return None
    need_quota = not verdict.fits
    need_devices = isinstance(placement, Shortage)

    def fits(gone: list[Admission]) -> bool:
        if need_quota and not check_quota(snapshot, team, flavor, gone).fits:
            return False
        if need_devices:
            spaces = {a.space for a in gone}
            device_ids = [d.id for a in gone for d in a.devices]
            return isinstance(snapshot.index.place(flavor, team, spaces, device_ids), Placement)
        return True

    targets: list[Admission] = []
    for admission in ordered:
        if admission.team != team and not _borrowing(snapshot, admission, targets):
            continue  # no longer borrowing once the targets so far are gone
        targets.append(admission)
        if fits(targets):
            break
    else:
        return None
    for i in range(len(targets) - 2, -1, -1):
        trial = targets[:i] + targets[i + 1 :]
        if fits(trial):
            targets = trial
    return tuple(_target(snapshot, a, team, request, now) for a in targets)


def _target(
    snapshot: Snapshot, admission: Admission, team: str | None, request: SpaceRequest, now: float
) -> Target:
    idle = idle_seconds(snapshot, admission, now)
    if admission.team != team:
        why = f"team {admission.team} is borrowing {admission.flavor} above its nominal quota"
    elif idle >= snapshot.policy.idle_after:
        why = f"idle for {_duration(idle)}, the longest in team {team or '(none)'}"
    else:
        why = f"priority {admission.priority} is lower than {request.priority}"
    action = Action.SLEEP if idle >= snapshot.policy.idle_after else Action.EVICT
    return Target(admission.space, admission.team, admission.flavor, action, why)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"
