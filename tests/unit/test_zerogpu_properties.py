"""Property tests of the ZeroGPU scheduler: random calls, releases, crashes and time, checked against
the invariants the scheduler promises (no overspent quota, no lease past its bound plus grace, no idle
device while a fitting call waits, the queue's priority order)."""

from __future__ import annotations

import itertools
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from orchestrator.zerogpu.leases import CallRequest, Lease, ZeroSpace
from orchestrator.zerogpu.ledger import UsageRecord
from orchestrator.zerogpu.pool import ZeroDevice
from orchestrator.zerogpu.protocol import GPUSize
from orchestrator.zerogpu.quota import Visitor
from orchestrator.zerogpu.scheduler import (
    Dispatched,
    Event,
    Granted,
    LeaseEnded,
    Queued,
    Scheduler,
)
from orchestrator.zerogpu.settings import Tier, TierLimits, ZeroGPUSettings
from orchestrator.zerogpu.waiting import Ticket

SETTINGS = ZeroGPUSettings(
    tiers={
        Tier.ANONYMOUS: TierLimits(daily_s=60),
        Tier.REGULAR: TierLimits(daily_s=150),
        Tier.PRO: TierLimits(daily_s=400, max_call_s=200),
    },
    quota_window_s=600,
    grace_s=7,
    queue_timeout_s=45,
    max_active_calls=3,
)
DEVICES = [ZeroDevice(0, "MIG-0", "large"), ZeroDevice(1, "MIG-1", "large"), ZeroDevice(2, "GPU-2", "xlarge")]
SPACES = [ZeroSpace("a/narrow", "team-a", 1), ZeroSpace("b/wide", "team-b", 3)]
VISITORS = [
    Visitor("ip:1", Tier.ANONYMOUS),
    Visitor("user:r1", Tier.REGULAR),
    Visitor("user:r2", Tier.REGULAR),
    Visitor("user:p", Tier.PRO),
]


class SchedulerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        counter = itertools.count()
        self.scheduler = Scheduler(SETTINGS, DEVICES, new_token=lambda: f"t{next(counter)}")
        self.now = 0.0
        self.records: list[UsageRecord] = []
        self.pids = itertools.count(100)
        self.pool = list(DEVICES)

    def _absorb(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, LeaseEnded):
                self.records.append(event.record)

    def _leases(self) -> list[Lease]:
        return sorted(self.scheduler.leases(), key=lambda lease: lease.token)

    @rule(
        visitor=st.sampled_from(VISITORS),
        space=st.sampled_from(SPACES),
        task=st.integers(1, 2),
        duration=st.integers(1, 220),
        size=st.sampled_from(["large", "large", "xlarge"]),
    )
    def schedule(self, visitor: Visitor, space: ZeroSpace, task: int, duration: int, size: GPUSize) -> None:
        call = CallRequest(space, task, visitor, duration, size)
        outcome = self.scheduler.schedule(call, self.now)
        if isinstance(outcome, Granted):
            self._absorb(list(outcome.evictions))
            assert outcome.lease.granted_at == self.now
        if isinstance(outcome, Queued):
            assert outcome.ticket.expires_at == self.now + SETTINGS.queue_timeout_s

    @precondition(lambda self: self.scheduler.leases())
    @rule(data=st.data())
    def allow(self, data: st.DataObject) -> None:
        lease = data.draw(st.sampled_from(self._leases()))
        assert self.scheduler.allow(lease.call.space.space_id, lease.token, next(self.pids)) is lease

    @precondition(lambda self: self.scheduler.leases())
    @rule(data=st.data(), fail=st.booleans())
    def release(self, data: st.DataObject, fail: bool) -> None:
        lease = data.draw(st.sampled_from(self._leases()))
        status, events = self.scheduler.release(lease.call.space.space_id, lease.token, fail, self.now)
        assert status in ("released", "unused")
        self._absorb(events)

    @precondition(lambda self: any(lease.pid for lease in self.scheduler.leases()))
    @rule(data=st.data())
    def crash(self, data: st.DataObject) -> None:
        lease = data.draw(st.sampled_from([lease for lease in self._leases() if lease.pid]))
        assert lease.pid is not None
        self._absorb(self.scheduler.worker_exited(lease.call.space.space_id, lease.pid, self.now))

    @precondition(lambda self: len(self.scheduler.waiting) > 0)
    @rule(data=st.data())
    def visitor_leaves_the_queue(self, data: st.DataObject) -> None:
        ticket = data.draw(st.sampled_from(sorted(self.scheduler.waiting.tickets(), key=lambda t: t.id)))
        self.scheduler.cancel(ticket.id, self.now)

    @rule(pool=st.lists(st.sampled_from(DEVICES), min_size=1, max_size=3, unique=True))
    def admin_changes_the_pool(self, pool: list[ZeroDevice]) -> None:
        self.pool = pool
        self._absorb(self.scheduler.update_devices(pool, self.now))

    @rule(seconds=st.floats(0, 120, allow_nan=False))
    def time_passes(self, seconds: float) -> None:
        """As the server's clock does: wake at every deadline on the way."""
        target = self.now + seconds
        for _ in range(1000):
            deadline = self.scheduler.next_deadline()
            if deadline is None or deadline > target:
                break
            assert deadline >= self.now, "a deadline in the past was not acted on"
            self.now = deadline
            self._absorb(self.scheduler.tick(self.now))
        else:
            raise AssertionError("the clock never gets past a deadline")
        self.now = target
        self._absorb(self.scheduler.tick(self.now))

    @invariant()
    def quota_is_never_overspent(self) -> None:
        for visitor in VISITORS:
            status = self.scheduler.quota_status(visitor, self.now)
            assert status.used_s + status.reserved_s <= status.limit_s + 1e-9
        charged: dict[tuple[str, float], float] = defaultdict(float)
        for record in self.records:
            charged[(record.visitor, record.window_started_at)] += record.quota_s
        limits = {visitor.key: SETTINGS.limits(visitor.tier).daily_s for visitor in VISITORS}
        for (key, _), total in charged.items():
            assert total <= limits[key] + 1e-9

    @invariant()
    def no_lease_outlives_its_duration_and_grace(self) -> None:
        for lease in self.scheduler.leases():
            assert self.now < lease.kill_at
        for record in self.records:
            assert record.gpu_s <= record.requested_s + SETTINGS.grace_s + 1e-9

    @invariant()
    def devices_and_spaces_within_their_limits(self) -> None:
        leases = self.scheduler.leases()
        assert len({lease.device.index for lease in leases}) == len(leases)
        for space in SPACES:
            assert sum(1 for lease in leases if lease.call.space == space) <= space.concurrency_limit
        for lease in leases:
            assert lease.device.fits(lease.call.size)

    @invariant()
    def no_device_idles_while_a_fitting_call_waits(self) -> None:
        leases = self.scheduler.leases()
        busy = {lease.device.index for lease in leases}
        free = [device for device in self.pool if device.index not in busy]
        for ticket in self.scheduler.waiting.tickets():
            running = sum(1 for lease in leases if lease.call.space == ticket.call.space)
            at_limit = running >= ticket.call.space.concurrency_limit
            assert at_limit or not any(device.fits(ticket.call.size) for device in free)
            assert ticket.expires_at > self.now


TestSchedulerMachine = SchedulerMachine.TestCase
TestSchedulerMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)


@settings(max_examples=200, deadline=None)
@given(
    devices=st.integers(1, 3),
    used=st.lists(st.integers(0, 100), min_size=4, max_size=4),
    calls=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 40)), min_size=1, max_size=12),
)
def test_waiting_calls_are_served_by_quota_left_then_arrival(
    devices: int, used: list[int], calls: list[tuple[int, int]]
) -> None:
    settings_ = ZeroGPUSettings(
        tiers={tier: TierLimits(daily_s=10_000) for tier in Tier}, max_active_calls=100, queue_timeout_s=1e9
    )
    pool = [ZeroDevice(i, f"GPU-{i}", "large") for i in range(devices)]
    space = ZeroSpace("a/b", concurrency_limit=100)
    scheduler = Scheduler(settings_, pool)
    visitors = [Visitor(f"user:{i}", Tier.REGULAR) for i in range(4)]
    # Earlier calls of each visitor, already charged.
    for visitor, seconds in zip(visitors, used, strict=True):
        if seconds:
            outcome = scheduler.schedule(CallRequest(space, 9, visitor, seconds), now=0)
            assert isinstance(outcome, Granted)
            scheduler.allow(space.space_id, outcome.lease.token, 10)
            scheduler.release(space.space_id, outcome.lease.token, False, now=seconds)
    filler = Visitor("user:filler", Tier.PRO)
    holders = []
    for _ in pool:
        outcome = scheduler.schedule(CallRequest(space, 1, filler, 1), now=200)
        assert isinstance(outcome, Granted)
        holders.append(outcome.lease.token)
    arrivals = []
    for who, duration in calls:
        outcome = scheduler.schedule(CallRequest(space, 2, visitors[who], duration), now=201)
        assert isinstance(outcome, Queued)
        arrivals.append(outcome.ticket)
    # Reference: each freed device goes to the waiting call whose visitor has the most quota left at that
    # moment (prior use and every accepted call of theirs not yet released), then the earliest arrival.
    # Calls here end the instant they start, so a served call's reservation is gone by the next grant.
    reserved: dict[str, int] = defaultdict(int)
    for ticket in arrivals:
        reserved[ticket.call.visitor.key] += ticket.call.duration_s
    prior = {visitor.key: seconds for visitor, seconds in zip(visitors, used, strict=True)}

    def rank(ticket: Ticket) -> tuple[int, int]:
        visitor = ticket.call.visitor.key
        return (-(10_000 - prior[visitor] - reserved[visitor]), ticket.arrival)

    line = list(arrivals)
    holding: list[Ticket | None] = [None] * devices
    expected: list[int] = []
    while holding:
        done = holding.pop(0)
        if done is not None:
            reserved[done.call.visitor.key] -= done.call.duration_s
        if line:
            best = min(line, key=rank)
            line.remove(best)
            expected.append(best.id)
            holding.append(best)
    served: list[int] = []
    while holders:
        token = holders.pop(0)
        _, events = scheduler.release(space.space_id, token, False, now=202)
        for event in events:
            if isinstance(event, Dispatched):
                served.append(event.ticket_id)
                holders.append(event.lease.token)
    assert served == expected
