"""The ZeroGPU scheduler's decisions, with a clock the tests move by hand."""

from __future__ import annotations

import itertools

import pytest

from orchestrator.zerogpu.leases import CallRequest, ZeroSpace
from orchestrator.zerogpu.pool import ZeroDevice
from orchestrator.zerogpu.protocol import GPUSize
from orchestrator.zerogpu.quota import Visitor
from orchestrator.zerogpu.scheduler import (
    Dispatched,
    DurationExceeded,
    EndWorker,
    Event,
    Granted,
    LeaseEnded,
    Queued,
    QueueTimedOut,
    Refused,
    Scheduler,
    Unavailable,
)
from orchestrator.zerogpu.settings import Tier, TierLimits, ZeroGPUSettings

SPACE = ZeroSpace("alice/demo", team="research", concurrency_limit=4)
ALICE = Visitor("user:alice", Tier.REGULAR)
BOB = Visitor("user:bob", Tier.REGULAR)
PRO = Visitor("user:pat", Tier.PRO)
ANON = Visitor("ip:203.0.113.7", Tier.ANONYMOUS)


def two_gpus(size: GPUSize = "large") -> list[ZeroDevice]:
    return [ZeroDevice(0, "GPU-0", size), ZeroDevice(1, "GPU-1", size)]


def scheduler(devices: list[ZeroDevice] | None = None, **overrides: object) -> Scheduler:
    counter = itertools.count()
    settings = ZeroGPUSettings.model_validate({"grace_s": 5, "queue_timeout_s": 60, **overrides})
    return Scheduler(settings, devices or two_gpus(), new_token=lambda: f"token-{next(counter)}")


def call(
    visitor: Visitor = ALICE,
    duration: int = 30,
    *,
    space: ZeroSpace = SPACE,
    task: int = 1,
    size: GPUSize = "large",
) -> CallRequest:
    return CallRequest(space=space, task_id=task, visitor=visitor, duration_s=duration, size=size)


def granted(outcome: object) -> Granted:
    assert isinstance(outcome, Granted), outcome
    return outcome


def queued(outcome: object) -> Queued:
    assert isinstance(outcome, Queued), outcome
    return outcome


def ended(events: list[Event]) -> list[LeaseEnded]:
    return [event for event in events if isinstance(event, LeaseEnded)]


def test_an_idle_device_is_granted_at_once_and_a_release_charges_the_time_used() -> None:
    s = scheduler()
    lease = granted(s.schedule(call(duration=30), now=100)).lease
    assert (lease.device.index, lease.idle) == (0, False)
    assert s.lease_of(SPACE.space_id, lease.token) is lease
    s.allow(SPACE.space_id, lease.token, pid=4242)
    status, events = s.release(SPACE.space_id, lease.token, fail=False, now=112)
    assert status == "released"
    (record,) = [event.record for event in ended(events)]
    assert (record.outcome, record.gpu_s, record.quota_s, record.team) == ("ok", 12, 12, "research")
    quota = s.quota_status(ALICE, now=112)
    assert (quota.used_s, quota.reserved_s, quota.left_s) == (12, 0, 300 - 12)


def test_a_lease_released_without_its_worker_ever_attaching_is_unused_and_free() -> None:
    s = scheduler()
    lease = granted(s.schedule(call(), now=0)).lease
    status, events = s.release(SPACE.space_id, lease.token, fail=True, now=3)
    assert status == "unused"
    assert ended(events)[0].record.quota_s == 0
    assert s.quota_status(ALICE, now=3).left_s == 300


def test_another_space_cannot_attach_to_or_release_a_lease() -> None:
    s = scheduler()
    lease = granted(s.schedule(call(), now=0)).lease
    assert s.allow("mallory/evil", lease.token, pid=99) is None
    assert s.release("mallory/evil", lease.token, fail=False, now=1) == ("unknown", [])
    assert s.lease_of(SPACE.space_id, lease.token) is lease


def test_calls_queue_when_every_device_is_busy_and_get_the_next_free_one() -> None:
    s = scheduler()
    first = granted(s.schedule(call(ALICE), now=0)).lease
    granted(s.schedule(call(BOB), now=0))
    waiting = queued(s.schedule(call(PRO), now=1))
    assert waiting.reason == "node"
    s.allow(SPACE.space_id, first.token, 10)
    _, events = s.release(SPACE.space_id, first.token, fail=False, now=5)
    (dispatched,) = [event for event in events if isinstance(event, Dispatched)]
    assert dispatched.ticket_id == waiting.ticket.id
    assert dispatched.lease.device.index == first.device.index
    assert dispatched.lease.granted_at == 5


def test_the_queue_serves_the_visitor_with_the_most_quota_left_first_then_arrival() -> None:
    s = scheduler(devices=[ZeroDevice(0, "GPU-0", "large")])
    busy = granted(s.schedule(call(BOB, 10), now=0)).lease
    low = queued(s.schedule(call(ANON, 60), now=1))  # 120 - 60 = 60 left
    high_late = queued(s.schedule(call(PRO, 60), now=2))  # 2400 - 60 left
    mid_a = queued(s.schedule(call(ALICE, 60), now=3))  # 300 - 60 left
    mid_b = queued(s.schedule(call(Visitor("user:carol", Tier.REGULAR), 60), now=4))  # same, later
    order = []
    token = busy.token
    for now in range(10, 15):
        _, events = s.release(SPACE.space_id, token, fail=False, now=now)
        dispatched = [event for event in events if isinstance(event, Dispatched)]
        if not dispatched:
            break
        order.append(dispatched[0].ticket_id)
        token = dispatched[0].lease.token
        s.allow(SPACE.space_id, token, 100 + now)
    assert order == [high_late.ticket.id, mid_a.ticket.id, mid_b.ticket.id, low.ticket.id]


def test_a_shorter_declared_duration_ranks_higher_for_the_same_quota() -> None:
    s = scheduler(devices=[ZeroDevice(0, "GPU-0", "large")])
    busy = granted(s.schedule(call(PRO, 10), now=0)).lease
    long = queued(s.schedule(call(ALICE, 120), now=1))
    short = queued(s.schedule(call(BOB, 20), now=2))
    _, events = s.release(SPACE.space_id, busy.token, fail=False, now=3)
    assert [e.ticket_id for e in events if isinstance(e, Dispatched)] == [short.ticket.id]
    assert long.ticket.id != short.ticket.id


def test_a_space_at_its_concurrency_limit_queues_for_concurrency_and_others_pass_it() -> None:
    s = scheduler(devices=[ZeroDevice(i, f"GPU-{i}", "large") for i in range(3)])
    narrow = ZeroSpace("alice/narrow", concurrency_limit=1)
    other = ZeroSpace("bob/other", concurrency_limit=4)
    first = granted(s.schedule(call(ALICE, space=narrow), now=0)).lease
    blocked = queued(s.schedule(call(PRO, space=narrow), now=1))
    assert blocked.reason == "concurrency"
    # The blocked call does not hold the free devices back from another Space.
    granted(s.schedule(call(BOB, space=other), now=2))
    _, events = s.release(narrow.space_id, first.token, fail=False, now=3)
    assert [e.ticket_id for e in events if isinstance(e, Dispatched)] == [blocked.ticket.id]


def test_a_waiting_call_times_out_with_failed_and_gets_its_quota_back() -> None:
    s = scheduler(devices=[ZeroDevice(0, "GPU-0", "large")], queue_timeout_s=60)
    granted(s.schedule(call(BOB, 120), now=0))
    ticket = queued(s.schedule(call(ALICE, 30), now=10)).ticket
    assert s.quota_status(ALICE, now=10).reserved_s == 30
    assert s.next_deadline() == 70
    assert s.tick(now=69.9) == []
    assert s.tick(now=70) == [QueueTimedOut(ticket.id)]
    assert s.quota_status(ALICE, now=70).reserved_s == 0
    assert len(s.waiting) == 0


def test_an_overrunning_call_is_warned_at_its_duration_and_its_worker_ended_after_the_grace() -> None:
    s = scheduler(grace_s=5)
    lease = granted(s.schedule(call(ALICE, 20), now=0)).lease
    s.allow(SPACE.space_id, lease.token, 777)
    assert s.tick(now=19) == []
    assert s.tick(now=20) == [DurationExceeded(lease)]
    assert s.tick(now=21) == []
    assert s.next_deadline() == 25
    events = s.tick(now=25)
    assert EndWorker(SPACE.space_id, 777, "ran past its duration") in events
    (record,) = [e.record for e in ended(events)]
    assert (record.outcome, record.quota_s, record.gpu_s) == ("killed", 20, 25)
    assert s.leases() == []
    # The client's own release after its worker died finds nothing: 404, which it tolerates.
    assert s.release(SPACE.space_id, lease.token, fail=True, now=26)[0] == "unknown"


def test_a_failed_call_ends_its_worker_and_a_good_one_leaves_it_idle_for_reuse() -> None:
    s = scheduler(devices=[ZeroDevice(0, "GPU-0", "large")])
    lease = granted(s.schedule(call(ALICE, task=7), now=0)).lease
    s.allow(SPACE.space_id, lease.token, 500)
    s.release(SPACE.space_id, lease.token, fail=False, now=2)
    again = granted(s.schedule(call(BOB, task=7), now=3)).lease
    assert (again.idle, again.pid) == (True, 500)
    _, events = s.release(SPACE.space_id, again.token, fail=True, now=4)
    assert EndWorker(SPACE.space_id, 500, "its call failed") in events
    third = granted(s.schedule(call(ALICE, task=7), now=5)).lease
    assert (third.idle, third.pid) == (False, None)


def test_a_device_lent_to_another_function_first_ends_the_idle_worker_on_it() -> None:
    s = scheduler(devices=[ZeroDevice(0, "GPU-0", "large")])
    lease = granted(s.schedule(call(ALICE, task=1), now=0)).lease
    s.allow(SPACE.space_id, lease.token, 600)
    s.release(SPACE.space_id, lease.token, fail=False, now=1)
    other = ZeroSpace("bob/other")
    outcome = granted(s.schedule(call(BOB, space=other, task=1), now=2))
    assert outcome.lease.idle is False
    assert outcome.evictions == (EndWorker(SPACE.space_id, 600, "its device was lent to another call"),)


def test_a_call_prefers_the_device_where_its_idle_worker_waits() -> None:
    s = scheduler()
    first = granted(s.schedule(call(ALICE, task=3), now=0)).lease
    second = granted(s.schedule(call(BOB, task=3), now=0)).lease
    s.allow(SPACE.space_id, second.token, 801)
    s.release(SPACE.space_id, second.token, fail=False, now=1)
    again = granted(s.schedule(call(PRO, task=3), now=2)).lease
    assert (again.device.index, again.idle) == (second.device.index, True)
    assert first.device.index != second.device.index


def test_xlarge_needs_a_whole_gpu_and_counts_double() -> None:
    s = scheduler(devices=[ZeroDevice(0, "MIG-0", "large"), ZeroDevice(1, "GPU-1", "xlarge")])
    big = granted(s.schedule(call(ALICE, 40, size="xlarge"), now=0)).lease
    assert big.device.uuid == "GPU-1"
    assert s.quota_status(ALICE, now=0).reserved_s == 80
    s.allow(SPACE.space_id, big.token, 900)
    _, events = s.release(SPACE.space_id, big.token, fail=False, now=10)
    assert ended(events)[0].record.quota_s == 20
    # A large call takes the slice first, and the whole GPU only when no slice is free.
    small = granted(s.schedule(call(BOB, size="large", task=2), now=11)).lease
    assert small.device.uuid == "MIG-0"
    assert granted(s.schedule(call(BOB, size="large", task=2), now=11)).lease.device.uuid == "GPU-1"


def test_xlarge_on_a_pool_of_slices_only_is_unavailable() -> None:
    s = scheduler()
    assert isinstance(s.schedule(call(size="xlarge"), now=0), Unavailable)
    assert s.quota_status(ALICE, now=0).reserved_s == 0


def test_a_call_that_may_not_wait_is_unavailable_when_every_device_is_busy() -> None:
    s = scheduler(devices=[ZeroDevice(0, "GPU-0", "large")])
    granted(s.schedule(call(BOB), now=0))
    assert isinstance(s.schedule(call(ALICE), now=0, may_wait=False), Unavailable)
    assert s.quota_status(ALICE, now=0).active_calls == 0


@pytest.mark.parametrize(
    ("visitor", "duration", "size", "result", "wait"),
    [
        (ANON, 121, "large", "illegal-duration", -1),
        (ANON, 61, "xlarge", "illegal-duration", -1),
        (PRO, 2400, "large", None, None),
        (PRO, 2401, "large", "illegal-duration", -1),
    ],
)
def test_a_call_longer_than_the_tier_allows_is_an_illegal_duration(
    visitor: Visitor, duration: int, size: GPUSize, result: str | None, wait: int | None
) -> None:
    outcome = scheduler(devices=[ZeroDevice(0, "GPU-0", "xlarge")]).schedule(
        call(visitor, duration, size=size), now=0
    )
    if result is None:
        granted(outcome)
    else:
        assert isinstance(outcome, Refused)
        assert (outcome.refusal.result, outcome.refusal.wait_s) == (result, wait)


def test_over_quota_says_what_is_left_and_when_the_window_resets() -> None:
    s = scheduler(tiers={"regular": TierLimits(daily_s=100)})
    lease = granted(s.schedule(call(ALICE, 60), now=1000)).lease
    s.allow(SPACE.space_id, lease.token, 1)
    s.release(SPACE.space_id, lease.token, fail=False, now=1050)  # 50 s used
    outcome = s.schedule(call(ALICE, 60), now=2000)
    assert isinstance(outcome, Refused)
    assert outcome.refusal.result == "quota-exceeded"
    assert outcome.refusal.left_s == 50
    assert outcome.refusal.wait_s == 1000 + 86400 - 2000
    # 24 hours after the first use the window resets: the full quota is back.
    granted(s.schedule(call(ALICE, 100), now=1000 + 86400))


def test_concurrent_calls_of_one_visitor_cannot_overspend_together() -> None:
    s = scheduler(tiers={"regular": TierLimits(daily_s=100)})
    granted(s.schedule(call(ALICE, 60), now=0))
    outcome = s.schedule(call(ALICE, 60), now=0)
    assert isinstance(outcome, Refused)
    assert (outcome.refusal.result, outcome.refusal.left_s) == ("quota-exceeded", 40)


def test_the_runs_limit_caps_calls_queued_or_running_per_visitor() -> None:
    s = scheduler(devices=[ZeroDevice(0, "GPU-0", "large")], max_active_calls=2)
    granted(s.schedule(call(PRO, 10), now=0))
    queued(s.schedule(call(PRO, 10), now=0))
    outcome = s.schedule(call(PRO, 10), now=0)
    assert isinstance(outcome, Refused)
    assert (outcome.refusal.result, outcome.refusal.wait_s) == ("runs-exceeded", 0)


def test_a_crashed_worker_releases_its_lease_and_the_next_call_gets_the_device() -> None:
    s = scheduler(devices=[ZeroDevice(0, "GPU-0", "large")])
    lease = granted(s.schedule(call(ALICE), now=0)).lease
    s.allow(SPACE.space_id, lease.token, 321)
    waiting = queued(s.schedule(call(BOB), now=1))
    events = s.worker_exited(SPACE.space_id, 321, now=4)
    assert ended(events)[0].record.outcome == "crashed"
    assert ended(events)[0].record.quota_s == 4
    assert [e.ticket_id for e in events if isinstance(e, Dispatched)] == [waiting.ticket.id]


def test_a_stopped_space_loses_its_leases_waiting_calls_and_idle_workers() -> None:
    s = scheduler(devices=[ZeroDevice(0, "GPU-0", "large")])
    lease = granted(s.schedule(call(ALICE), now=0)).lease
    s.allow(SPACE.space_id, lease.token, 55)
    waiting = queued(s.schedule(call(BOB), now=1))
    events = s.space_stopped(SPACE.space_id, now=2)
    assert QueueTimedOut(waiting.ticket.id) in events
    assert ended(events)[0].record.outcome == "stopped"
    assert s.leases() == [] and s.residents() == {} and len(s.waiting) == 0
    assert s.quota_status(BOB, now=2).active_calls == 0


def test_abandoning_an_undelivered_grant_frees_the_device_for_the_next_in_line() -> None:
    s = scheduler(devices=[ZeroDevice(0, "GPU-0", "large")])
    first = granted(s.schedule(call(ALICE), now=0)).lease
    second = queued(s.schedule(call(BOB), now=0))
    third = queued(s.schedule(call(ANON), now=0))
    s.allow(SPACE.space_id, first.token, 2)
    _, events = s.release(SPACE.space_id, first.token, fail=False, now=1)
    (dispatched,) = [e for e in events if isinstance(e, Dispatched)]
    assert dispatched.ticket_id == second.ticket.id
    events = s.abandon(dispatched.lease.token, now=2)
    assert ended(events)[0].record.outcome == "unused"
    assert [e.ticket_id for e in events if isinstance(e, Dispatched)] == [third.ticket.id]


def test_devices_added_to_the_pool_serve_the_queue_and_removed_ones_finish_their_call() -> None:
    s = scheduler(devices=[ZeroDevice(0, "GPU-0", "large")])
    running = granted(s.schedule(call(ALICE, task=1), now=0)).lease
    s.allow(SPACE.space_id, running.token, 40)
    waiting = queued(s.schedule(call(BOB, task=2), now=1))
    events = s.update_devices([ZeroDevice(1, "GPU-1", "large")], now=2)
    (dispatched,) = [e for e in events if isinstance(e, Dispatched)]
    assert (dispatched.ticket_id, dispatched.lease.device.uuid) == (waiting.ticket.id, "GPU-1")
    # The call on the removed device runs to its end; its worker is not kept there, nothing else goes there.
    assert s.lease_of(SPACE.space_id, running.token) is running
    s.release(SPACE.space_id, running.token, fail=False, now=3)
    assert s.residents() == {}
    assert isinstance(s.schedule(call(PRO, task=1), now=4), Queued)
