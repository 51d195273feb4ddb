"""The admission loop: it owns the snapshot and the queue, applies ``admit``'s decisions, and decides
again for waiting Spaces when something frees up. This is what the control plane calls.

* ``request`` — a Space starts or wakes: an immediate decision; ``change_hardware`` moves a running one;
* ``release`` — a Space sleeps, stops, is deleted or was preempted: it frees what it held, and the
  decisions this makes possible are returned (admit these, stop those first);
* ``touch`` — a request reached a Space (it is not idle);
* ``tick`` — every few seconds: waiting Spaces may now preempt (teammates went idle, others borrowed);
* ``set_quotas`` / ``set_inventory`` — live changes, followed by a new look at everything waiting.

A :class:`~orchestrator.scheduling.decisions.Preempt` leaves the request waiting until every target is
released; then it is decided first. Pure bookkeeping: no clock, no I/O; ``now`` is always passed in.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import replace

from orchestrator.scheduling.admission import admit
from orchestrator.scheduling.decisions import Admitted, Decision, Explanation, Pending, Preempt, Rejected
from orchestrator.scheduling.devices import Shortage
from orchestrator.scheduling.flavors import GpuKind
from orchestrator.scheduling.inventory import Inventory
from orchestrator.scheduling.ledger import Ledger
from orchestrator.scheduling.queue import LaneKey, PendingQueue, Waiting
from orchestrator.scheduling.quota_fit import borrows
from orchestrator.scheduling.quotas import QuotaBook
from orchestrator.scheduling.snapshot import Snapshot
from orchestrator.scheduling.workloads import Admission, SpaceRequest


class Scheduler:
    def __init__(self, snapshot: Snapshot, ledger: Ledger | None = None) -> None:
        self.snapshot = snapshot
        self.queue = PendingQueue()
        self.ledger = ledger if ledger is not None else Ledger()
        self._requests: dict[str, SpaceRequest] = {}
        self._seq = 0
        self._lanes_by_flavor: dict[str, set[LaneKey]] = {}
        self._flavors_by_class: dict[object, set[str]] = {}
        self._index_flavors()

    # --- events -----------------------------------------------------------------------------------

    def request(self, request: SpaceRequest, now: float) -> Decision:
        """``request.space`` wants to run on ``request.flavor``: admitted, preempting, pending or rejected."""
        self.snapshot.touch(request.space, now)
        current = self.snapshot.admissions.get(request.space)
        if current is not None:
            if current.flavor == request.flavor:
                explanation = Explanation(
                    request.space, current.flavor, current.team, "admitted", "already running"
                )
                return Admitted(request, current, explanation)
            raise ValueError(
                f"{request.space} runs on {current.flavor}: change its hardware with change_hardware"
            )
        waiting = self.queue.get(request.space)
        if waiting is not None:
            if waiting.request == request:
                return self._pending(waiting, waiting.last)
            self._drop_waiting(request.space)
        decision = admit(self.snapshot, request, now, detail=True)
        if isinstance(decision, Rejected):
            return decision
        team = self.snapshot.team_of(request.owner)
        waiting = Waiting(request, team, self._next_seq(), now)
        head = self.queue.head(waiting.lane)
        if head is not None and head.order < waiting.order:
            self._push(waiting)  # others of its team wait for the same flavor: first come, first served
            return self._pending(waiting, decision)
        return self._apply(waiting, decision)

    def change_hardware(self, request: SpaceRequest, now: float) -> list[Decision]:
        """A running Space moves to another flavor (which restarts it, as on the Hub): it releases what it
        holds, then asks anew. Returns what the release made possible for others, then its own decision."""
        effects = self.release(request.space, now) if request.space in self.snapshot.admissions else []
        return [*effects, self.request(request, now)]

    def release(self, space: str, now: float, *, requeue: bool = False) -> list[Decision]:
        """``space`` stopped (sleep, pause, delete, preempted). ``requeue``: it was evicted while busy and
        waits to run again. Returns the decisions the freed hardware made possible."""
        if self._drop_waiting(space):
            return []
        nominee_space = self.snapshot.preempting.get(space)
        admission = self.snapshot.forget(space)
        if admission is None:
            return []
        self.ledger.close(space, now)
        request = self._requests.pop(space)
        if not requeue:
            self.snapshot.last_request.pop(space, None)
        lanes, for_devices = self._lanes_after_release(admission)
        nominee = self.queue.get(nominee_space) if nominee_space is not None else None
        if nominee is not None:
            nominee.waiting_for = nominee.waiting_for - {space}
            lanes.insert(0, nominee.lane)
        if requeue:
            self._push(Waiting(request, admission.team, self._next_seq(), now))
        return self._retry([*lanes, *for_devices], now, for_devices=set(for_devices) - set(lanes))

    def touch(self, space: str, now: float) -> None:
        self.snapshot.touch(space, now)

    def tick(self, now: float) -> list[Decision]:
        """Look again at every waiting Space, this time also for Spaces to stop: teammates become idle as
        time passes, and other teams start borrowing, without any release. Call it every few seconds."""
        return self._retry(self.queue.lanes(), now, preempt=True)

    def set_quotas(self, quotas: QuotaBook, now: float) -> list[Decision]:
        self.snapshot.set_quotas(quotas)
        return self._retry(self.queue.lanes(), now, preempt=True)

    def set_inventory(self, inventory: Inventory, now: float) -> list[Decision]:
        self.snapshot.set_inventory(inventory)
        self._index_flavors()
        return self._retry(self.queue.lanes(), now, preempt=True)

    # --- questions --------------------------------------------------------------------------------

    def position(self, space: str) -> int | None:
        return self.queue.position(space)

    def explain(self, space: str, now: float) -> Explanation | None:
        """Why ``space`` runs where it runs, or waits: decided afresh, in detail, changing nothing."""
        admission = self.snapshot.admissions.get(space)
        if admission is not None:
            ids = ", ".join(d.visible_id or d.id for d in admission.devices) or "no GPU"
            summary = f"running on {admission.flavor}" + (
                f", node {admission.node}: {ids}" if admission.node else ""
            )
            return Explanation(space, admission.flavor, admission.team, "admitted", summary)
        waiting = self.queue.get(space)
        if waiting is None:
            return None
        decision = admit(self.snapshot, waiting.request, now, detail=True)
        if waiting.waiting_for:
            names = ", ".join(sorted(waiting.waiting_for))
            return replace(decision.explanation, outcome="pending", summary=f"waiting for {names} to stop")
        return replace(self._pending(waiting, decision).explanation, position=self.queue.position(space))

    # --- internals --------------------------------------------------------------------------------

    def _apply(self, waiting: Waiting, decision: Decision) -> Decision:
        self._unmark_targets(waiting)
        if isinstance(decision, Admitted):
            admission = replace(decision.admission, seq=self.snapshot.next_seq())
            self.snapshot.assume(admission)
            self._requests[admission.space] = waiting.request
            self.ledger.open(admission)
            return replace(decision, admission=admission)
        if isinstance(decision, Preempt):
            waiting.waiting_for = frozenset(t.space for t in decision.targets)
            waiting.last = decision
            for target in decision.targets:
                self.snapshot.preempting[target.space] = waiting.request.space
            self._push(waiting)
            return decision
        self._push(waiting)
        return self._pending(waiting, decision)

    def _pending(self, waiting: Waiting, decision: Decision | None) -> Pending:
        waiting.last = decision
        position = self.queue.position(waiting.request.space)
        if isinstance(decision, Pending):
            reason = decision.reason
        elif waiting.waiting_for:
            reason = "waiting for " + ", ".join(sorted(waiting.waiting_for)) + " to stop"
        else:
            reason = f"waiting behind earlier requests of its team for {waiting.request.flavor}"
        ahead = (position or 1) - 1
        summary = (
            f"queued at position {position} ({ahead} ahead in team {waiting.team or '(none)'}): {reason}"
        )
        base = decision.explanation if decision is not None else None
        explanation = (
            replace(base, outcome="pending", summary=summary, position=position)
            if base is not None
            else Explanation(waiting.request.space, waiting.request.flavor, waiting.team, "pending", summary)
        )
        return Pending(waiting.request, reason, explanation, position, tuple(sorted(waiting.waiting_for)))

    def _retry(
        self,
        lanes: Iterable[LaneKey],
        now: float,
        *,
        preempt: bool = False,
        for_devices: Collection[LaneKey] = (),
    ) -> list[Decision]:
        """Decide again for the heads of ``lanes`` (first given, first decided) until none can move.
        Without ``preempt``, only a head whose preemption just completed may stop more Spaces.
        ``for_devices``: lanes looked at only because devices were freed; once a flavor is found short of
        devices in this pass their heads of that flavor are passed over (nothing is freed during a pass,
        and where whole cards and MIG instances are does not depend on the team)."""
        todo = list(dict.fromkeys(lane for lane in lanes if self.queue.has_lane(lane)))
        decisions: list[Decision] = []
        short: set[str] = set()
        while todo:
            heads = [h for h in (self.queue.head(lane) for lane in todo) if h is not None]
            if len(heads) > 1:
                # As Kueue orders a cohort's heads: those whose preemption just completed, then those
                # that stay within their team's nominal quota, then by priority and arrival.
                heads.sort(key=lambda h: (not isinstance(h.last, Preempt), self._borrows(h), h.order))
            moved: list[LaneKey] = []
            for head in heads:
                if head.lane in for_devices and head.request.flavor in short:
                    continue
                # A head still waiting for its targets to stop may fit anyway (something else freed up);
                # it does not look for more Spaces to stop.
                again = not head.waiting_for and (preempt or isinstance(head.last, Preempt))
                decision = admit(self.snapshot, head.request, now, preempt=again)
                if isinstance(decision, Pending):
                    head.last = decision
                    if self._short_of_cards(decision):
                        short.add(head.request.flavor)
                    continue
                self.queue.remove(head.request.space)
                self._forget_lane_if_empty(head.lane)
                if isinstance(decision, Rejected):
                    decisions.append(decision)
                    moved.append(head.lane)
                    continue
                decisions.append(self._apply(head, decision))
                if isinstance(decision, Admitted):
                    moved.append(head.lane)
            todo = [lane for lane in dict.fromkeys(moved) if self.queue.has_lane(lane)]
        return decisions

    def _short_of_cards(self, pending: Pending) -> bool:
        """Pending for want of whole cards or MIG instances only (its quota fits)."""
        flavor = self.snapshot.catalog.get(pending.request.flavor)
        return (
            isinstance(pending.explanation.placement, Shortage)
            and all(check.fits for check in pending.explanation.quota)
            and flavor is not None
            and flavor.gpu is not None
            and flavor.gpu.kind is not GpuKind.SHARED
        )

    def _borrows(self, waiting: Waiting) -> bool:
        flavor = self.snapshot.catalog.get(waiting.request.flavor)
        return flavor is not None and borrows(self.snapshot, waiting.team, flavor)

    def _lanes_after_release(self, admission: Admission) -> tuple[list[LaneKey], list[LaneKey]]:
        """Lanes whose head may fit now: the team's lane for the flavor and its cohort's (quota was
        freed), and every lane of a flavor that can use the freed devices."""
        flavor = admission.flavor
        lanes: list[LaneKey] = [(admission.team, flavor)]
        quota = self.snapshot.team_quota(admission.team)
        if quota is not None and quota.cohort is not None:
            for member in self.snapshot.quotas.cohort_members(quota.cohort):
                head = self.queue.head((member, flavor))
                # Another team held back by its own limit gains nothing from this team's release.
                if member != admission.team and head is not None and not _bound_by_own_limit(head):
                    lanes.append((member, flavor))
        for_devices: list[LaneKey] = []
        if admission.devices:
            flavors: set[str] = set()
            for key in self.snapshot.index.classes_of(admission.devices):
                flavors |= self._flavors_by_class.get(key, set())
            for name in sorted(flavors):
                for lane in sorted(self._lanes_by_flavor.get(name, ()), key=str):
                    head = self.queue.head(lane)
                    # A head held back by its quota cannot use a freed device; any other head may.
                    if head is not None and not _over_quota(head):
                        for_devices.append(lane)
        return lanes, for_devices

    def _push(self, waiting: Waiting) -> None:
        self.queue.push(waiting)
        self._lanes_by_flavor.setdefault(waiting.request.flavor, set()).add(waiting.lane)

    def _drop_waiting(self, space: str) -> bool:
        waiting = self.queue.remove(space)
        if waiting is None:
            return False
        self._unmark_targets(waiting)
        self._forget_lane_if_empty(waiting.lane)
        return True

    def _unmark_targets(self, waiting: Waiting) -> None:
        """``waiting`` no longer waits for its targets (admitted, deleted, or decided anew); they are
        still stopping and will be released, freeing what they hold for whoever fits then."""
        for target in waiting.waiting_for:
            if self.snapshot.preempting.get(target) == waiting.request.space:
                del self.snapshot.preempting[target]
        waiting.waiting_for = frozenset()

    def _forget_lane_if_empty(self, lane: LaneKey) -> None:
        if not self.queue.has_lane(lane):
            self._lanes_by_flavor.get(lane[1], set()).discard(lane)

    def _index_flavors(self) -> None:
        self._flavors_by_class = {}
        for flavor, keys in self.snapshot.index.flavor_classes.items():
            for key in keys:
                self._flavors_by_class.setdefault(key, set()).add(flavor)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq


def _over_quota(waiting: Waiting) -> bool:
    last = waiting.last
    return isinstance(last, Pending) and any(not check.fits for check in last.explanation.quota)


def _bound_by_own_limit(waiting: Waiting) -> bool:
    last = waiting.last
    return isinstance(last, Pending) and any(check.short_in == "team" for check in last.explanation.quota)
