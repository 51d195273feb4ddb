"""Leader election on a Lease: one leader, take-over after the duration, clock skew cannot make two."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.runtimes.kubernetes.leases import (
    Decision,
    decide,
    format_micro_time,
    make_lease,
    must_step_down,
    observe,
    parse_micro_time,
    released,
    renewed,
)

NOON = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def test_a_new_lease() -> None:
    assert make_lease(
        name="spaces-controller", namespace="spaces-system", holder="ctl-a", duration_s=8, now=NOON
    ) == {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": "spaces-controller",
            "namespace": "spaces-system",
            "labels": {"app.kubernetes.io/managed-by": "spaces-orchestrator"},
        },
        "spec": {
            "holderIdentity": "ctl-a",
            "leaseDurationSeconds": 8,
            "acquireTime": "2024-05-01T12:00:00.000000Z",
            "renewTime": "2024-05-01T12:00:00.000000Z",
            "leaseTransitions": 0,
        },
    }


def test_micro_times_always_carry_six_digits_and_read_back() -> None:
    # The API server refuses a MicroTime without its fraction, which isoformat() drops at whole seconds.
    assert format_micro_time(NOON) == "2024-05-01T12:00:00.000000Z"
    later = NOON + timedelta(microseconds=1500)
    assert parse_micro_time(format_micro_time(later)) == later
    assert format_micro_time(NOON.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))).endswith(
        "12:00:00.000000Z"
    )
    with pytest.raises(ValueError, match="aware"):
        format_micro_time(datetime(2024, 5, 1))


def test_the_holder_renews_and_a_standby_waits_out_the_duration_from_when_it_saw_the_last_renewal() -> None:
    lease = make_lease(name="l", namespace="n", holder="a", duration_s=8, now=NOON)
    seen_a = observe(None, lease, now=100.0)
    assert decide(seen_a, me="a", now=100.0) is Decision.RENEW
    seen_b = observe(None, lease, now=100.0)
    assert decide(seen_b, me="b", now=107.9) is Decision.WAIT
    # a renews at 105: b's clock restarts although the wall-clock renewTime is in b's past or future.
    lease = renewed(lease, holder="a", duration_s=8, now=NOON + timedelta(hours=5))
    seen_b = observe(seen_b, lease, now=105.0)
    assert decide(seen_b, me="b", now=112.9) is Decision.WAIT
    # a dies: nothing changes for 8 s, then b takes over.
    seen_b = observe(seen_b, lease, now=113.0)
    assert seen_b.seen_at == 105.0
    assert decide(seen_b, me="b", now=113.0) is Decision.ACQUIRE


def test_a_take_over_counts_a_transition_and_keeps_the_resource_version() -> None:
    made = make_lease(name="l", namespace="n", holder="a", duration_s=8, now=NOON)
    lease = {**made, "metadata": {**made["metadata"], "resourceVersion": "4711", "uid": "x"}}
    taken = renewed(lease, holder="b", duration_s=8, now=NOON + timedelta(seconds=9, microseconds=5))
    assert taken["metadata"] == {
        "name": "l",
        "namespace": "n",
        "resourceVersion": "4711",
        "labels": {"app.kubernetes.io/managed-by": "spaces-orchestrator"},
    }
    assert taken["spec"] == {
        "holderIdentity": "b",
        "leaseDurationSeconds": 8,
        "acquireTime": "2024-05-01T12:00:09.000005Z",
        "renewTime": "2024-05-01T12:00:09.000005Z",
        "leaseTransitions": 1,
    }
    again = renewed(taken, holder="b", duration_s=8, now=NOON + timedelta(seconds=11))
    assert again["spec"]["acquireTime"] == "2024-05-01T12:00:09.000005Z"
    assert again["spec"]["leaseTransitions"] == 1


def test_a_released_lease_is_acquired_at_once() -> None:
    lease = released(make_lease(name="l", namespace="n", holder="a", duration_s=8, now=NOON), now=NOON)
    assert lease["spec"]["holderIdentity"] == ""
    assert decide(observe(None, lease, now=50.0), me="b", now=50.0) is Decision.ACQUIRE
    acquired = renewed(lease, holder="b", duration_s=8, now=NOON)
    assert acquired["spec"]["leaseTransitions"] == 0  # nobody held it: no transition


def test_a_leader_steps_down_before_anyone_may_take_over() -> None:
    assert not must_step_down(last_renewal=100.0, renew_deadline_s=6, now=105.9)
    assert must_step_down(last_renewal=100.0, renew_deadline_s=6, now=106.0)


def test_a_holder_needs_an_identity() -> None:
    with pytest.raises(ValueError, match="identity"):
        make_lease(name="l", namespace="n", holder="", duration_s=8, now=NOON)
