"""Admission as users and admins meet it: start on a GPU, wait in line, borrow, get preempted, sleep,
wake, change quotas, and read why."""

from __future__ import annotations

import pytest

from orchestrator.scheduling.decisions import Action, Admitted, Decision, Pending, Preempt, Rejected
from orchestrator.scheduling.quotas import (
    Preemption,
    QuotaBook,
    ReclaimWithinCohort,
    ResourceQuota,
    TeamQuota,
)
from orchestrator.scheduling.scheduler import Scheduler
from orchestrator.scheduling.workloads import SpaceRequest
from tests.unit.scheduling.helpers import GPU, SHARED, inventory, scheduler, team


def ask(s: Scheduler, space: str, flavor: str, now: float, priority: int = 0) -> Decision:
    return s.request(SpaceRequest(space, space.split("/")[0], flavor, priority), now)


def carry_out(s: Scheduler, decision: Decision, now: float) -> list[Decision]:
    """Do what a Preempt asks, as the control plane would: stop each target, report it released."""
    assert isinstance(decision, Preempt)
    out: list[Decision] = []
    for target in decision.targets:
        out += s.release(target.space, now, requeue=target.action is Action.EVICT)
    return out


def test_a_gpu_space_is_admitted_on_a_concrete_card_and_a_third_waits_when_two_fit() -> None:
    s = scheduler(inventory(a10g=2))
    first, second = ask(s, "alice/a", "a10g-small", 0), ask(s, "alice/b", "a10g-small", 1)
    assert isinstance(first, Admitted) and isinstance(second, Admitted)
    assert {first.admission.visible_devices, second.admission.visible_devices} == {"GPU-a10g-0", "GPU-a10g-1"}
    assert first.admission.node == "box"
    third = ask(s, "alice/c", "a10g-small", 2)
    assert isinstance(third, Pending) and third.position == 1
    assert "no node has 1 free device(s) for a10g-small" in third.reason
    # Asking again answers the same place in line; sleeping one Space admits the waiting one.
    again = ask(s, "alice/c", "a10g-small", 3)
    assert isinstance(again, Pending) and again.position == 1
    (admitted,) = s.release("alice/a", 4)
    assert isinstance(admitted, Admitted) and admitted.request.space == "alice/c"
    assert admitted.admission.visible_devices == first.admission.visible_devices


def test_positions_count_the_team_requests_ahead_for_the_same_flavor() -> None:
    s = scheduler(inventory(a10g=1))
    ask(s, "alice/a", "a10g-small", 0)
    waiting = [ask(s, f"alice/w{i}", "a10g-small", 1 + i) for i in range(3)]
    assert [d.position for d in waiting if isinstance(d, Pending)] == [1, 2, 3]
    # A higher priority goes first in line, and may preempt lower-priority work of its team.
    urgent = ask(s, "alice/urgent", "a10g-small", 9, priority=5)
    assert isinstance(urgent, Preempt) and [t.space for t in urgent.targets] == ["alice/a"]
    assert s.position("alice/urgent") == 1
    assert s.position("alice/w2") == 4
    s.release("alice/w0", 10)  # the visitor gave up
    assert s.position("alice/w2") == 3


def test_a_flavor_not_offered_is_rejected_with_what_is() -> None:
    s = scheduler(inventory(a10g=1))
    decision = ask(s, "alice/a", "a10g-largex2", 0)
    assert isinstance(decision, Rejected)
    assert decision.reason.startswith(
        "Hardware 'a10g-largex2' is not available on this server: needs 2x A10G"
    )
    assert decision.offered == ("cpu-basic", "a10g-small")
    unknown = ask(s, "alice/a", "tpu-v5", 0)
    assert isinstance(unknown, Rejected) and unknown.reason.startswith("Unknown hardware 'tpu-v5'.")


def test_over_quota_says_by_how_much_and_who_holds_it() -> None:
    s = scheduler(inventory(a10g=4), (team("research", a10g_small=1),), alice="research", bob="research")
    assert isinstance(ask(s, "alice/a", "a10g-small", 0), Admitted)
    decision = ask(s, "bob/b", "a10g-small", 1)
    assert isinstance(decision, Pending)
    assert decision.reason == (
        "team research is over its a10g-small quota: uses 1 of 1 nvidia.com/gpu, over the nominal quota by 1"
    )
    lines = decision.explanation.lines()
    assert any(line.startswith("  held by alice/a (team research, a10g-small") for line in lines)
    assert any("quota: a10g-small nvidia.com/gpu: 1 used of nominal 1; asks 1" in line for line in lines)


def test_no_quota_for_a_gpu_flavor_is_rejected_but_cpu_flavors_stay_open() -> None:
    s = scheduler(inventory(a10g=2), (team("research", a10g_small=1),), alice="research")
    rejected = ask(s, "carol/x", "a10g-small", 0)
    assert (
        isinstance(rejected, Rejected) and "belongs to no team with a quota for a10g-small" in rejected.reason
    )
    assert isinstance(ask(s, "carol/y", "cpu-basic", 0), Admitted)
    too_big = ask(s, "alice/big", "a10g-largex2", 0)
    assert isinstance(too_big, Rejected) and "team research has no quota for a10g-largex2" in too_big.reason


def test_more_than_a_team_can_ever_hold_is_rejected_not_queued() -> None:
    s = scheduler(inventory(a10g=4), (team("research", a10g_largex2=1),), alice="research")
    decision = ask(s, "alice/big", "a10g-largex2", 0)
    assert isinstance(decision, Rejected)
    assert "needs 2 nvidia.com/gpu; team research can hold at most 1" in decision.reason


def test_borrowing_within_the_cohort_and_its_limit() -> None:
    teams = (
        team("research", "lab", a10g_small=ResourceQuota(1, borrowing_limit=1)),
        team("vision", "lab", a10g_small=2),
    )
    s = scheduler(inventory(a10g=4), teams, alice="research")
    assert isinstance(ask(s, "alice/a", "a10g-small", 0), Admitted)
    borrowed = ask(s, "alice/b", "a10g-small", 1)
    assert isinstance(borrowed, Admitted)
    assert "borrowing 1 nvidia.com/gpu from cohort lab" in borrowed.explanation.summary
    third = ask(s, "alice/c", "a10g-small", 2)
    assert isinstance(third, Pending) and "over nominal quota plus borrowing limit (2) by 1" in third.reason


def test_lending_limit_keeps_part_of_the_nominal_quota_for_its_team() -> None:
    teams = (
        team("research", "lab", a10g_small=0),
        team("vision", "lab", a10g_small=ResourceQuota(3, lending_limit=1)),
    )
    s = scheduler(inventory(a10g=4), teams, alice="research", bob="vision")
    assert isinstance(ask(s, "alice/a", "a10g-small", 0), Admitted)
    second = ask(s, "alice/b", "a10g-small", 1)
    assert isinstance(second, Pending) and "cohort lab" in second.reason
    # vision still has its 2 guaranteed cards, and its third by reclaiming the lent one.
    assert isinstance(ask(s, "bob/x", "a10g-small", 2), Admitted)
    assert isinstance(ask(s, "bob/y", "a10g-small", 3), Admitted)
    reclaim = ask(s, "bob/z", "a10g-small", 4)
    assert isinstance(reclaim, Preempt) and [t.space for t in reclaim.targets] == ["alice/a"]


def test_reclaim_preempts_borrowers_first_lowest_priority_then_most_recent() -> None:
    teams = (team("research", "lab", a10g_small=0), team("vision", "lab", a10g_small=3))
    s = scheduler(inventory(a10g=3), teams, idle_after=1e9, alice="research", bob="vision")
    ask(s, "alice/old", "a10g-small", 0, priority=1)
    ask(s, "alice/low", "a10g-small", 1, priority=0)
    ask(s, "alice/new", "a10g-small", 2, priority=1)
    first = ask(s, "bob/x", "a10g-small", 3)
    assert isinstance(first, Preempt)
    assert [(t.space, t.action) for t in first.targets] == [("alice/low", Action.EVICT)]
    assert first.targets[0].why == "team research is borrowing a10g-small above its nominal quota"
    (admitted,) = carry_out(s, first, 4)
    assert isinstance(admitted, Admitted) and admitted.request.space == "bob/x"
    second = ask(s, "bob/y", "a10g-small", 5)
    assert isinstance(second, Preempt) and [t.space for t in second.targets] == ["alice/new"]
    # The evicted Space waits to run again.
    assert s.position("alice/low") == 1


def test_a_team_full_with_idle_spaces_sleeps_the_longest_idle_before_anything_busy() -> None:
    s = scheduler(inventory(a10g=3), (team("research", a10g_small=3),), idle_after=60, alice="research")
    for i, name in enumerate(["alice/a", "alice/b", "alice/c"]):
        ask(s, name, "a10g-small", i)
    s.touch("alice/a", 50)  # a request reached it: the oldest idle is now alice/b
    s.touch("alice/c", 150)  # busy
    wake = ask(s, "alice/sleepy", "a10g-small", 170, priority=5)
    assert isinstance(wake, Preempt)
    assert [(t.space, t.action) for t in wake.targets] == [("alice/b", Action.SLEEP)]
    assert "idle for 3 min, the longest in team research" in wake.targets[0].why
    (admitted,) = carry_out(s, wake, 171)
    assert isinstance(admitted, Admitted) and admitted.request.space == "alice/sleepy"
    assert s.position("alice/b") is None  # it sleeps: no queue; a visit wakes it through admission


def test_a_busy_team_without_lower_priority_work_waits_rather_than_preempting() -> None:
    s = scheduler(inventory(a10g=1), (team("research", a10g_small=1),), idle_after=60, alice="research")
    ask(s, "alice/a", "a10g-small", 0)
    s.touch("alice/a", 30)
    decision = ask(s, "alice/b", "a10g-small", 40)
    assert isinstance(decision, Pending)
    # Later alice/a becomes idle: the periodic tick finds it and sleeps it.
    (preempt,) = s.tick(200)
    assert isinstance(preempt, Preempt) and preempt.targets[0].space == "alice/a"
    assert preempt.targets[0].action is Action.SLEEP


def test_reclaim_is_off_when_the_team_says_never() -> None:
    teams = (
        team("research", "lab", a10g_small=0),
        TeamQuota(
            "vision",
            "lab",
            {("a10g-small", GPU): ResourceQuota(1)},
            Preemption(reclaim_within_cohort=ReclaimWithinCohort.NEVER),
        ),
    )
    s = scheduler(inventory(a10g=1), teams, idle_after=1e9, alice="research", bob="vision")
    ask(s, "alice/a", "a10g-small", 0)
    assert isinstance(ask(s, "bob/x", "a10g-small", 1), Pending)


def test_mig_slices_go_to_different_teams() -> None:
    teams = (team("research", mig_small=1), team("vision", mig_small=1))
    s = scheduler(inventory(a10g=0, mig=2), teams, alice="research", bob="vision")
    a, b = ask(s, "alice/a", "mig-small", 0), ask(s, "bob/b", "mig-small", 0)
    assert isinstance(a, Admitted) and isinstance(b, Admitted)
    assert {a.admission.visible_devices, b.admission.visible_devices} == {"MIG-0", "MIG-1"}


def test_time_sliced_card_serves_one_team_at_a_time() -> None:
    teams = (team("research", t4_shared=4), team("vision", t4_shared=4))
    s = scheduler(inventory(a10g=0, shared_cards=1, replicas=4), teams, alice="research", bob="vision")
    assert isinstance(ask(s, "alice/a", "t4-shared", 0), Admitted)
    assert isinstance(ask(s, "alice/b", "t4-shared", 0), Admitted)  # same team shares the card
    other = ask(s, "bob/x", "t4-shared", 1)
    assert isinstance(other, Pending)
    assert "2 shared replica(s) are free on cards another team uses" in other.reason
    s.release("alice/a", 2)
    (admitted,) = s.release("alice/b", 3)
    assert isinstance(admitted, Admitted) and admitted.request.space == "bob/x"
    assert admitted.admission.visible_devices == "GPU-t4-0"


def test_quota_changes_take_effect_live() -> None:
    s = scheduler(inventory(a10g=2), (team("research", a10g_small=1),), alice="research")
    ask(s, "alice/a", "a10g-small", 0)
    assert isinstance(ask(s, "alice/b", "a10g-small", 1), Pending)
    raised = QuotaBook({"research": team("research", a10g_small=2)})
    (admitted,) = s.set_quotas(raised, 2)
    assert isinstance(admitted, Admitted) and admitted.request.space == "alice/b"
    # Lowering a quota stops nothing that runs; it holds back what comes next.
    s.set_quotas(QuotaBook({"research": team("research", a10g_small=0)}), 3)
    assert set(s.snapshot.admissions) == {"alice/a", "alice/b"}
    assert isinstance(ask(s, "alice/c", "a10g-small", 4), Rejected)


def test_explain_prints_quota_node_and_devices() -> None:
    s = scheduler(inventory(a10g=1), (team("research", a10g_small=1),), alice="research")
    ask(s, "alice/a", "a10g-small", 0)
    ask(s, "alice/b", "a10g-small", 1)
    running = s.explain("alice/a", 2)
    assert running is not None and running.summary == "running on a10g-small, node box: GPU-a10g-0"
    waiting = s.explain("alice/b", 2)
    assert waiting is not None and waiting.outcome == "pending" and waiting.position == 1
    text = "\n".join(waiting.lines())
    assert "queued at position 1 (0 ahead in team research)" in text
    assert "node box: 0 of 1 suitable devices free, needs 1" in text
    assert "held by alice/a" in text
    assert s.explain("nobody/x", 2) is None


def test_without_quotas_only_hardware_limits() -> None:
    s = scheduler(inventory(a10g=1))
    assert isinstance(ask(s, "anyone/a", "a10g-small", 0), Admitted)
    assert isinstance(ask(s, "someone/b", "a10g-small", 0), Pending)


def test_changing_hardware_releases_the_old_flavor() -> None:
    s = scheduler(inventory(a10g=2, mig=1))
    ask(s, "alice/a", "a10g-small", 0)
    assert isinstance(ask(s, "bob/b", "a10g-largex2", 0), Pending)  # alice/a holds one of the two cards
    with pytest.raises(ValueError, match="change_hardware"):
        ask(s, "alice/a", "mig-small", 1)
    freed, moved = s.change_hardware(SpaceRequest("alice/a", "alice", "mig-small"), 1)
    assert isinstance(freed, Admitted) and freed.request.space == "bob/b"
    assert isinstance(moved, Admitted) and moved.admission.visible_devices == "MIG-0"
    assert s.snapshot.index.holder == {"MIG-0": "alice/a", "GPU-a10g-0": "bob/b", "GPU-a10g-1": "bob/b"}


def test_gpu_hours_per_team_and_flavor() -> None:
    s = scheduler(
        inventory(a10g=2, shared_cards=1, replicas=4),
        (team("research", a10g_small=2, t4_shared=1),),
        alice="research",
    )
    ask(s, "alice/a", "a10g-small", 0)
    ask(s, "alice/b", "t4-shared", 100)
    s.release("alice/a", 3600)
    usage = {(u.team, u.flavor): u for u in s.ledger.usage(0, 7200)}
    assert usage[("research", "a10g-small")].gpu_hours == 1.0
    shared = usage[("research", "t4-shared")]
    assert shared.device_seconds == 7100 and shared.gpu_seconds == pytest.approx(7100 / 4)
    assert {(u.team, u.flavor) for u in s.ledger.usage(4000, 7200)} == {("research", "t4-shared")}


def test_the_explanation_is_data_for_the_api() -> None:
    s = scheduler(inventory(a10g=1))
    decision = ask(s, "alice/a", "a10g-small", 0)
    data = decision.explanation.to_dict()
    assert data["outcome"] == "admitted" and data["placement_kind"] == "Placement"
    assert data["placement"]["devices"][0]["visible_id"] == "GPU-a10g-0"
    assert SHARED == "nvidia.com/gpu.shared"
