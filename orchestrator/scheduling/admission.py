"""``admit``: one pure decision for one request over a snapshot.

In order: is the flavor offered here (else :class:`Rejected`, naming what is); can the team ever hold it
(else :class:`Rejected`: no quota, or more than its quota and cohort allow); does it fit the team's quota
and is there a device for it now (:class:`Admitted`, with node and devices); if not, would stopping some
Spaces make room (:class:`Preempt`, see ``preemption``); else :class:`Pending`, with the reason and who
holds what it needs. The snapshot is only read; the :class:`Scheduler` applies the decision.
"""

from __future__ import annotations

from orchestrator.scheduling import quantities as q
from orchestrator.scheduling.decisions import Admitted, Decision, Explanation, Pending, Preempt, Rejected
from orchestrator.scheduling.devices import Placement, Shortage
from orchestrator.scheduling.flavors import Flavor
from orchestrator.scheduling.preemption import Need, choose_targets, idle_seconds
from orchestrator.scheduling.quota_fit import QuotaVerdict, check_quota
from orchestrator.scheduling.snapshot import Snapshot
from orchestrator.scheduling.workloads import Admission, SpaceRequest


def offered(snapshot: Snapshot) -> tuple[str, ...]:
    return tuple(name for name, a in snapshot.availability.items() if a.available)


def admit(
    snapshot: Snapshot, request: SpaceRequest, now: float, *, detail: bool = False, preempt: bool = True
) -> Decision:
    """Decide ``request`` now. ``detail`` adds who holds what it needs (slower; for people, not retries);
    ``preempt=False`` skips looking for Spaces to stop (a retry after a release: stopping would not have
    become possible, only fitting)."""
    flavor = snapshot.catalog.get(request.flavor)
    if flavor is None:
        return _reject(snapshot, request, None, f"Unknown hardware {request.flavor!r}.")
    availability = snapshot.availability[flavor.name]
    if not availability.available:
        return _reject(
            snapshot,
            request,
            None,
            f"Hardware {flavor.name!r} is not available on this server: {availability.reason}.",
        )
    team = snapshot.team_of(request.owner)
    verdict = check_quota(snapshot, team, flavor)
    if verdict.never is not None:
        return _reject(
            snapshot, request, team, f"Hardware {flavor.name!r} cannot be granted: {verdict.never}.", verdict
        )
    if not verdict.fits and not preempt and not detail:
        # A retry that may not preempt: over quota is enough to wait; where devices are is moot.
        reason = _reason(snapshot, team, flavor, verdict, Placement(None, ()))
        return Pending(
            request, reason, Explanation(request.space, flavor.name, team, "pending", reason, verdict.checks)
        )
    placement = snapshot.index.place(flavor, team)
    if verdict.fits and isinstance(placement, Placement):
        admission = Admission(
            request.space,
            team,
            flavor.name,
            request.priority,
            placement.node,
            placement.devices,
            flavor.requests,
            now,
            0,
        )
        borrowed = [c for c in verdict.checks if c.borrowing]
        summary = f"admitted on {flavor.name}" + (f", node {placement.node}" if placement.node else "")
        if borrowed:
            summary += ", borrowing " + ", ".join(
                f"{q.format_amount(c.resource, c.borrowing)} {c.resource} from cohort {c.cohort}"
                for c in borrowed
            )
        explanation = Explanation(
            request.space, flavor.name, team, "admitted", summary, verdict.checks, placement
        )
        return Admitted(request, admission, explanation)
    targets = (
        choose_targets(snapshot, Need(request, team, flavor, verdict, placement), now) if preempt else None
    )
    reason = _reason(snapshot, team, flavor, verdict, placement)
    if targets:
        names = ", ".join(t.space for t in targets)
        summary = f"{reason}; stopping {names} first"
        explanation = Explanation(
            request.space, flavor.name, team, "preempt", summary, verdict.checks, placement, targets
        )
        return Preempt(request, targets, explanation)
    holders: tuple[str, ...] = ()
    if detail:
        holders = _holders(snapshot, team, flavor, verdict, placement, now)
        placement = snapshot.index.place(flavor, team, detail=True)  # every node's free devices, for people
    explanation = Explanation(
        request.space, flavor.name, team, "pending", reason, verdict.checks, placement, (), holders
    )
    return Pending(request, reason, explanation)


def _reject(
    snapshot: Snapshot,
    request: SpaceRequest,
    team: str | None,
    reason: str,
    verdict: QuotaVerdict | None = None,
) -> Rejected:
    available = offered(snapshot)
    message = f"{reason} Available: {', '.join(available) or 'none'}."
    checks = verdict.checks if verdict is not None else ()
    explanation = Explanation(request.space, request.flavor, team, "rejected", message, checks)
    return Rejected(request, message, available, explanation)


def _reason(
    snapshot: Snapshot,
    team: str | None,
    flavor: Flavor,
    verdict: QuotaVerdict,
    placement: Placement | Shortage,
) -> str:
    if not verdict.fits:
        check = verdict.failed[0]
        if check.short_in == "cohort" and check.used + check.requested <= check.nominal:
            return f"cohort {check.cohort} has lent out team {team}'s {flavor.name} quota ({check.problem})"
        if check.short_in == "cohort":
            return (
                f"team {team} uses all its {flavor.name} quota and cohort {check.cohort} has nothing left"
                f" to lend ({check.problem})"
            )
        used = q.format_amount(check.resource, check.used)
        nominal = q.format_amount(check.resource, check.nominal)
        return (
            f"team {team} is over its {flavor.name} quota: uses {used} of {nominal} {check.resource}, "
            f"{check.problem}"
        )
    assert isinstance(placement, Shortage)
    free = placement.most_free
    text = (
        f"no node has {placement.wanted} free device(s) for {flavor.name} (at most {free} free on one node)"
    )
    if placement.blocked_by_tenancy:
        text += f"; {placement.blocked_by_tenancy} shared replica(s) are free on cards another team uses"
    return text


def _holders(
    snapshot: Snapshot,
    team: str | None,
    flavor: Flavor,
    verdict: QuotaVerdict,
    placement: Placement | Shortage,
    now: float,
) -> tuple[str, ...]:
    """``research/a (a10g-small, idle 3 min)`` for the Spaces holding what the request needs."""
    spaces: list[str] = []
    if not verdict.fits:
        check = verdict.failed[0]
        members: tuple[str | None, ...] = (team,)
        if check.short_in == "cohort" and check.cohort is not None:
            members = snapshot.quotas.cohort_members(check.cohort)
        for member in members:
            spaces.extend(a.space for a in snapshot.team_admissions(member) if a.flavor == flavor.name)
    if isinstance(placement, Shortage):
        keys = snapshot.index.flavor_classes.get(flavor.name, ())
        spaces.extend(s for s in snapshot.index.holders_in(keys) if s not in spaces)
    limit = snapshot.policy.explain_holders
    out = []
    for space in spaces[:limit]:
        a = snapshot.admissions[space]
        idle = idle_seconds(snapshot, a, now)
        out.append(
            f"{space} (team {a.team or '(none)'}, {a.flavor}, priority {a.priority}, "
            f"no request for {idle:.0f} s)"
        )
    if len(spaces) > limit:
        out.append(f"and {len(spaces) - limit} more")
    return tuple(out)
