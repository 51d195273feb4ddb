"""The ZeroGPU scheduler: admits, places, queues and ends calls. Pure: no I/O, no clock, no threads.

Every method takes ``now`` and returns what happened as values; the server (``server.py``) turns them
into HTTP answers, kills workers through the runtime and writes the ledger. Invariants, each covered by
property tests:

- a device holds at most one lease, and a Space runs at most its concurrency limit of calls;
- a visitor's used plus reserved quota never exceeds their tier's daily quota;
- no lease outlives its duration plus the grace period: at ``deadline`` the call is warned, at
  ``kill_at`` its worker is ended (``EndWorker``) and the lease closed;
- whenever a device is free, no waiting call that fits it (size, Space limit) is left waiting;
- waiting calls are placed in priority order (``waiting.py``), a call waits at most ``queue_timeout_s``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from orchestrator.zerogpu.leases import CallRequest, DeviceBoard, Lease, Resident
from orchestrator.zerogpu.ledger import Outcome, UsageRecord
from orchestrator.zerogpu.pool import ZeroDevice, check_devices
from orchestrator.zerogpu.protocol import SIZE_FACTOR, QueuingReason
from orchestrator.zerogpu.quota import QuotaBook, QuotaStatus, Refusal, Visitor
from orchestrator.zerogpu.settings import ZeroGPUSettings
from orchestrator.zerogpu.waiting import Ticket, WaitingLine


@dataclass(frozen=True)
class Granted:
    lease: Lease
    evictions: tuple[EndWorker, ...] = ()
    """Idle workers of others on the device, to end before this call's worker starts."""


@dataclass(frozen=True)
class Queued:
    ticket: Ticket
    reason: QueuingReason


@dataclass(frozen=True)
class Refused:
    refusal: Refusal


@dataclass(frozen=True)
class Unavailable:
    """No device of the pool can take the call now and it may not wait (503)."""

    reason: str


ScheduleOutcome = Granted | Queued | Refused | Unavailable


@dataclass(frozen=True)
class Dispatched:
    """A waiting call got its device: send ``succeeded`` on its stream."""

    ticket_id: int
    lease: Lease


@dataclass(frozen=True)
class QueueTimedOut:
    """A waiting call waited too long: send ``failed`` on its stream."""

    ticket_id: int


@dataclass(frozen=True)
class DurationExceeded:
    """A call ran past its requested duration; it is ended at ``lease.kill_at``."""

    lease: Lease


@dataclass(frozen=True)
class EndWorker:
    """The runtime must end this worker process of this Space (overrun, failure, or eviction)."""

    space_id: str
    pid: int
    why: str


@dataclass(frozen=True)
class LeaseEnded:
    record: UsageRecord


Event = Dispatched | QueueTimedOut | DurationExceeded | EndWorker | LeaseEnded

ReleaseStatus = Literal["released", "unused", "unknown"]


def _new_allow_token() -> str:
    return secrets.token_urlsafe(24)


class Scheduler:
    def __init__(
        self,
        settings: ZeroGPUSettings,
        devices: Sequence[ZeroDevice],
        *,
        new_token: Callable[[], str] = _new_allow_token,
    ) -> None:
        check_devices(devices)
        self.settings = settings
        self.quota = QuotaBook(settings)
        self.board = DeviceBoard(devices)
        self.waiting = WaitingLine()
        self._new_token = new_token
        self._leases: dict[str, Lease] = {}

    # -- what a Space asks ----------------------------------------------------------------------

    def schedule(self, call: CallRequest, now: float, *, may_wait: bool = True) -> ScheduleOutcome:
        if not self.board.fits_any(call.size):
            return Unavailable(f"no {call.size} device in the ZeroGPU pool")
        refusal = self.quota.check(call.visitor, call.quota_s, now)
        if refusal is not None:
            return Refused(refusal)
        self.quota.reserve(call.visitor, call.quota_s, now)
        at_limit = self._running(call.space.space_id) >= call.space.concurrency_limit
        if not at_limit:
            events: list[Event] = []
            lease = self._try_place(call, now, events)
            if lease is not None:
                return Granted(lease, tuple(e for e in events if isinstance(e, EndWorker)))
        if not may_wait:
            self.quota.settle(call.visitor, call.quota_s, 0.0, now)
            return Unavailable("every ZeroGPU device is busy")
        reason: QueuingReason = "concurrency" if at_limit else "node"
        ticket = self.waiting.add(call, now, self.settings.queue_timeout_s, reason)
        return Queued(ticket, reason)

    def allow(self, space_id: str, allow_token: str, pid: int) -> Lease | None:
        """Attach the worker process ``pid`` to a lease of this Space; None for anyone else's lease."""
        lease = self.lease_of(space_id, allow_token)
        if lease is not None:
            lease.pid = pid
        return lease

    def release(
        self, space_id: str, allow_token: str, fail: bool, now: float
    ) -> tuple[ReleaseStatus, list[Event]]:
        lease = self.lease_of(space_id, allow_token)
        if lease is None:
            return "unknown", []
        if lease.pid is None and not lease.idle:
            outcome: Outcome = "unused"
        else:
            outcome = "failed" if fail else "ok"
        events = self._end(lease, outcome, now)
        events += self._dispatch(now)
        return ("unused" if outcome == "unused" else "released"), events

    def cancel(self, ticket_id: int, now: float) -> None:
        """A waiting call's visitor left: drop it and its reservation."""
        ticket = self.waiting.remove(ticket_id)
        if ticket is not None:
            self.quota.settle(ticket.call.visitor, ticket.call.quota_s, 0.0, now)

    def abandon(self, allow_token: str, now: float) -> list[Event]:
        """A grant that could not be delivered (its stream closed): the device was never used."""
        lease = self._leases.get(allow_token)
        if lease is None:
            return []
        return self._end(lease, "unused", now) + self._dispatch(now)

    # -- what the server observes ---------------------------------------------------------------

    def tick(self, now: float) -> list[Event]:
        """Time passed: expire waiting calls, warn and end overrunning ones."""
        events: list[Event] = []
        for ticket in self.waiting.expired(now):
            self.cancel(ticket.id, now)
            events.append(QueueTimedOut(ticket.id))
        for lease in list(self._leases.values()):
            if now >= lease.kill_at:
                events += self._end(lease, "killed", now)
            elif now >= lease.deadline and not lease.warned:
                lease.warned = True
                events.append(DurationExceeded(lease))
        return events + self._dispatch(now)

    def worker_exited(self, space_id: str, pid: int, now: float) -> list[Event]:
        """A worker (or the whole app) died without releasing: close its leases, forget it."""
        events: list[Event] = []
        for lease in list(self._leases.values()):
            if lease.call.space.space_id == space_id and lease.pid == pid:
                events += self._end(lease, "crashed", now)
        self.board.forget_worker(space_id, pid)
        return events + self._dispatch(now)

    def space_stopped(self, space_id: str, now: float) -> list[Event]:
        """The Space's app is gone: close its leases and waiting calls, forget its idle workers."""
        events: list[Event] = []
        for ticket in self.waiting.tickets():
            if ticket.call.space.space_id == space_id:
                self.cancel(ticket.id, now)
                events.append(QueueTimedOut(ticket.id))
        for lease in list(self._leases.values()):
            if lease.call.space.space_id == space_id:
                events += self._end(lease, "stopped", now)
        self.board.forget_space(space_id)
        return events + self._dispatch(now)

    def update_devices(self, devices: Sequence[ZeroDevice], now: float) -> list[Event]:
        """The admin changed the devices dedicated to ZeroGPU (see ``DeviceBoard.update``)."""
        check_devices(devices)
        gone = self.board.update(devices)
        events: list[Event] = [EndWorker(r.space_id, r.pid, "its device left the ZeroGPU pool") for r in gone]
        return events + self._dispatch(now)

    def next_deadline(self) -> float | None:
        times = [lease.kill_at if lease.warned else lease.deadline for lease in self._leases.values()]
        expiry = self.waiting.next_expiry()
        if expiry is not None:
            times.append(expiry)
        return min(times, default=None)

    def leases(self) -> list[Lease]:
        return list(self._leases.values())

    def residents(self) -> dict[int, Resident]:
        return self.board.residents()

    def quota_status(self, visitor: Visitor, now: float) -> QuotaStatus:
        return self.quota.status(visitor, now)

    def lease_of(self, space_id: str, allow_token: str) -> Lease | None:
        """The lease of that token if it is this Space's."""
        lease = self._leases.get(allow_token)
        if lease is None or lease.call.space.space_id != space_id:
            return None
        return lease

    # -- inside ---------------------------------------------------------------------------------

    def _running(self, space_id: str) -> int:
        return sum(1 for lease in self._leases.values() if lease.call.space.space_id == space_id)

    def _try_place(self, call: CallRequest, now: float, events: list[Event]) -> Lease | None:
        placement = self.board.place(call.space.space_id, call.task_id, call.size)
        if placement is None:
            return None
        lease = Lease(
            token=self._new_token(),
            call=call,
            device=placement.device,
            granted_at=now,
            grace_s=self.settings.grace_s,
            idle=placement.idle,
        )
        self.board.occupy(lease)
        self._leases[lease.token] = lease
        if placement.evicted is not None:
            evicted = placement.evicted
            events.append(EndWorker(evicted.space_id, evicted.pid, "its device was lent to another call"))
        return lease

    def _dispatch(self, now: float) -> list[Event]:
        events: list[Event] = []
        while len(self.waiting) and self.board.any_free():
            order = self.waiting.in_priority_order(lambda t: self.quota.left(t.call.visitor, now))
            for ticket in order:
                if self._running(ticket.call.space.space_id) >= ticket.call.space.concurrency_limit:
                    continue
                lease = self._try_place(ticket.call, now, events)
                if lease is None:
                    continue
                self.waiting.remove(ticket.id)
                events.append(Dispatched(ticket.id, lease))
                break
            else:
                break
        return events

    def _end(self, lease: Lease, outcome: Outcome, now: float) -> list[Event]:
        events: list[Event] = []
        self._leases.pop(lease.token, None)
        keep_worker = outcome == "ok"
        self.board.vacate(lease, now, keep_worker=keep_worker)
        if not keep_worker and lease.pid is not None and outcome in ("failed", "killed"):
            why = "ran past its duration" if outcome == "killed" else "its call failed"
            events.append(EndWorker(lease.call.space.space_id, lease.pid, why))
        elapsed = max(0.0, now - lease.granted_at)
        call = lease.call
        charge = 0.0 if outcome == "unused" else elapsed * SIZE_FACTOR[call.size]
        window = self.quota.settle(call.visitor, call.quota_s, charge, now)
        record = UsageRecord(
            space_id=call.space.space_id,
            team=call.space.team,
            visitor=call.visitor.key,
            tier=call.visitor.tier.value,
            task_id=call.task_id,
            device_index=lease.device.index,
            device_uuid=lease.device.uuid,
            size=call.size,
            requested_s=call.duration_s,
            granted_at=lease.granted_at,
            ended_at=now,
            gpu_s=elapsed,
            quota_s=min(charge, float(call.quota_s)),
            window_started_at=window,
            outcome=outcome,
        )
        events.append(LeaseEnded(record))
        return events
