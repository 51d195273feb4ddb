"""Property tests: random inventories, quotas and churn (submit, sleep, wake, delete, quota change, time
passing) against the reference model in ``reference``.

After every step, with preemptions carried out at once as the control plane would:
* no device is held twice, every device suits its flavor, one node per Space, and no time-sliced card
  serves two teams;
* a team whose usage grew is within its nominal quota plus borrowing limit, and a cohort whose usage grew
  lends no more than its members' lending limits allow (so quotas are never exceeded by an admission);
* nothing waits that would fit (work-conserving, BestEffortFIFO);
* within a team and flavor, equal priorities are admitted first come, first served;
* every preemption frees enough, each target is needed, targets are allowed (idle teammates, lower
  priority teammates, borrowers of the cohort when reclaiming nominal quota) and come in Kueue's order
  after the idle ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.scheduling.decisions import Action, Admitted, Decision, Pending, Preempt, Rejected
from orchestrator.scheduling.inventory import Inventory
from orchestrator.scheduling.quotas import QuotaBook, ResourceQuota, TeamQuota
from orchestrator.scheduling.scheduler import Scheduler
from orchestrator.scheduling.snapshot import Policy, Snapshot
from orchestrator.scheduling.teams import TeamDirectory
from orchestrator.scheduling.workloads import SpaceRequest
from tests.unit.scheduling import reference as ref
from tests.unit.scheduling.helpers import GPU, MIG, SHARED, catalog, inventory

FLAVORS = ("a10g-small", "a10g-largex2", "mig-small", "t4-shared", "cpu-basic")
WEIGHTED_FLAVORS = (
    "a10g-small",
    "a10g-small",
    "a10g-largex2",
    "mig-small",
    "t4-shared",
    "t4-shared",
    "cpu-basic",
)
RESOURCE = {"a10g-small": GPU, "a10g-largex2": GPU, "mig-small": MIG, "t4-shared": SHARED}
OWNERS = ("alice", "bob", "carol")
MEMBERS = {"alice": ("research",), "bob": ("vision",), "carol": ("ops",)}
IDLE_AFTER = 60.0


@st.composite
def quota_books(draw: st.DrawFn) -> QuotaBook:
    if draw(st.booleans()) and draw(st.booleans()):
        return QuotaBook()  # no quotas: only hardware limits
    teams: dict[str, TeamQuota] = {}
    for name in ("research", "vision", "ops"):
        if name == "ops" and draw(st.integers(0, 3)) == 0:
            continue
        cohort = draw(st.sampled_from([None, "lab", "lab"]))
        limits: dict[tuple[str, str], ResourceQuota] = {}
        for flavor, resource in RESOURCE.items():
            if draw(st.integers(0, 7)) == 0:
                continue  # no quota for this flavor
            nominal = draw(st.sampled_from([1, 2, 0, 3]))
            borrow = draw(st.one_of(st.none(), st.integers(0, 2))) if cohort else None
            lend = draw(st.one_of(st.none(), st.integers(0, nominal))) if cohort else None
            limits[(flavor, resource)] = ResourceQuota(nominal, borrow, lend)
        if draw(st.booleans()):
            limits[("cpu-basic", "cpu")] = ResourceQuota(draw(st.integers(1, 3)) * 2000)
        teams[name] = TeamQuota(name, cohort, limits)
    return QuotaBook(teams)


@st.composite
def inventories(draw: st.DrawFn) -> Inventory:
    return inventory(
        a10g=draw(st.integers(1, 3)),
        mig=draw(st.integers(0, 2)),
        shared_cards=draw(st.integers(0, 2)),
        replicas=draw(st.integers(2, 3)),
    )


request = st.tuples(st.just("request"), st.integers(0, 8), st.sampled_from([0, 0, 1]))
hardware_change = st.tuples(st.just("change"), st.integers(0, 8), st.sampled_from(FLAVORS))
operation = st.one_of(
    request,
    request,
    request,
    hardware_change,
    st.tuples(st.just("touch"), st.integers(0, 8)),
    st.tuples(st.just("sleep"), st.integers(0, 8)),
    st.tuples(st.just("delete"), st.integers(0, 8)),
    st.tuples(st.just("tick")),
    st.tuples(st.just("quota"), quota_books()),
)


@dataclass
class World:
    scheduler: Scheduler
    inventory: Inventory
    now: float = 0.0
    flavor_of: dict[str, str] = field(default_factory=dict)
    queued_order: list[str] = field(default_factory=list)


def space_name(index: int) -> str:
    return f"{OWNERS[index % len(OWNERS)]}/s{index}"


def check_preempt(world: World, decision: Preempt) -> None:
    """The targets free enough, each is needed, each is allowed, they come in order, and no better-ranked
    candidate left running could have stood in for a target."""
    s = world.scheduler.snapshot
    request = decision.request
    flavor = s.catalog[request.flavor]
    team = s.team_of(request.owner)
    held = ref.holdings(s.admissions.values())

    def fits(gone: set[str]) -> bool:
        return ref.fits(
            s.catalog, world.inventory, s.quotas, [h for h in held if h.space not in gone], team, flavor
        )

    targets = {t.space for t in decision.targets}
    assert not fits(set())
    assert fits(targets), targets
    for t in targets:
        assert not fits(targets - {t}), f"{t} was not needed"
    quota = s.team_quota(team)
    team_full = quota is not None and any(
        (flavor.name, r) in quota.limits
        and ref.used(held, team, flavor.name, r) + n > quota.limits[(flavor.name, r)].nominal
        for r, n in flavor.requests
    )
    short = not ref.device_fits(s.catalog, world.inventory, held, team, flavor)

    def rank(space: str) -> tuple[float, ...] | None:
        """Where ``space`` stands among those that may be stopped (lower first); ``None``: it may not be."""
        a = s.admissions[space]
        if space == request.space or s.preempting.get(space, request.space) != request.space:
            return None
        idle = world.now - s.last_request.get(space, a.admitted_at) >= IDLE_AFTER
        if a.team == team and idle and (team_full or short):
            return (0, s.last_request.get(space, a.admitted_at), a.seq)
        if a.team == team:
            return (1, 1, a.priority, -a.seq) if a.priority < request.priority else None
        other = s.team_quota(a.team)
        if (
            quota is None
            or quota.cohort is None
            or other is None
            or other.cohort != quota.cohort
            or team_full
        ):
            return None
        borrowing = any(
            ref.used(held, a.team, a.flavor, r) > limit.nominal
            for (f, r), limit in other.limits.items()
            if f == a.flavor
        )
        return (1, 0, a.priority, -a.seq) if borrowing else None

    ranks = []
    for target in decision.targets:
        admission = s.admissions[target.space]
        idle = world.now - s.last_request.get(target.space, admission.admitted_at) >= IDLE_AFTER
        assert (target.action is Action.SLEEP) == idle
        mine = rank(target.space)
        assert mine is not None, f"{target.space} may not be preempted for {request.space}"
        ranks.append(mine)
        for other in s.admissions:
            theirs = rank(other) if other not in targets else None
            if theirs is not None and theirs < mine:
                assert not fits(targets - {target.space} | {other}), (
                    f"{other} ranks before {target.space} and would have done"
                )
    assert ranks == sorted(ranks), decision.targets


def settle(world: World, decisions: list[Decision]) -> None:
    """Carry out preemptions at once; record who was admitted."""
    todo = list(decisions)
    while todo:
        decision = todo.pop(0)
        if isinstance(decision, Preempt):
            for target in decision.targets:
                todo += world.scheduler.release(
                    target.space, world.now, requeue=target.action is Action.EVICT
                )
        elif isinstance(decision, Admitted):
            check_fifo(world, decision.request.space)


def check_fifo(world: World, space: str) -> None:
    """Nobody of the same team, flavor and priority that queued earlier is still waiting."""
    if space not in world.queued_order:
        return
    mine = world.scheduler.snapshot.admissions[space]
    for earlier in world.queued_order[: world.queued_order.index(space)]:
        waiting = world.scheduler.queue.get(earlier)
        if (
            waiting is not None
            and waiting.lane == (mine.team, mine.flavor)
            and waiting.request.priority == mine.priority
        ):
            raise AssertionError(f"{space} admitted before {earlier}, which queued first")
    world.queued_order.remove(space)


def usage_by_key(world: World) -> dict[tuple[str | None, str, str], int]:
    out: dict[tuple[str | None, str, str], int] = {}
    for a in world.scheduler.snapshot.admissions.values():
        for resource, amount in a.usage:
            key = (a.team, a.flavor, resource)
            out[key] = out.get(key, 0) + amount
    return out


def check_invariants(world: World, before: dict[tuple[str | None, str, str], int]) -> None:
    s = world.scheduler.snapshot
    admissions = list(s.admissions.values())
    assert ref.device_problems(s.catalog, world.inventory, admissions) == []
    held = ref.holdings(admissions)
    after = usage_by_key(world)
    for (team, flavor, resource), amount in after.items():
        if team is None or amount <= before.get((team, flavor, resource), 0) or team not in s.quotas.teams:
            continue
        assert ref.team_ok(s.quotas, held, team, flavor, resource), (team, flavor, resource, amount)
        cohort = s.quotas.teams[team].cohort
        if cohort is not None:
            assert ref.cohort_ok(s.quotas, held, cohort, flavor, resource), (cohort, flavor, resource)
    for waiting in world.scheduler.queue:
        if waiting.waiting_for:
            continue
        wanted = s.catalog[waiting.request.flavor]
        assert not ref.fits(s.catalog, world.inventory, s.quotas, held, waiting.team, wanted), (
            f"{waiting.request.space} waits although {wanted.name} fits"
        )


def run(
    inv: Inventory,
    book: QuotaBook,
    flavors: list[str],
    operations: list[tuple[object, ...]],
    gaps: list[float],
) -> None:
    """``flavors[i]``: the flavor Space ``i`` asks for until a ``change`` op gives it another."""
    snapshot = Snapshot(catalog(), inv, book, TeamDirectory(MEMBERS), Policy(idle_after=IDLE_AFTER))
    world = World(Scheduler(snapshot), inv)
    for op, gap in zip(operations, gaps, strict=False):
        world.now += gap
        before = usage_by_key(world)
        kind, *args = op
        s = world.scheduler
        index = args[0] if args and isinstance(args[0], int) else 0
        space = space_name(index)
        if kind in ("request", "change"):
            if kind == "change":
                world.flavor_of[space] = str(args[1])
            flavor = world.flavor_of.get(space, flavors[index])
            priority = args[1] if kind == "request" and isinstance(args[1], int) else 0
            request = SpaceRequest(space, space.split("/")[0], flavor, priority)
            if space in s.snapshot.admissions and s.snapshot.admissions[space].flavor != flavor:
                *effects, decision = s.change_hardware(request, world.now)
                settle(world, effects)
            else:
                decision = s.request(request, world.now)
            if isinstance(decision, Preempt):
                check_preempt(world, decision)
            if isinstance(decision, Pending | Preempt) and space not in world.queued_order:
                world.queued_order.append(space)
            if isinstance(decision, Admitted | Rejected) and space in world.queued_order:
                world.queued_order.remove(space)
            settle(world, [decision])
        elif kind == "touch":
            s.touch(space, world.now)
        elif kind in ("sleep", "delete"):
            if space in world.queued_order:
                world.queued_order.remove(space)
            settle(world, s.release(space, world.now))
        elif kind == "tick":
            settle(world, s.tick(world.now))
        elif kind == "quota":
            assert isinstance(args[0], QuotaBook)
            settle(world, s.set_quotas(args[0], world.now))
        check_invariants(world, before)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    inventories(),
    quota_books(),
    st.lists(st.sampled_from(WEIGHTED_FLAVORS), min_size=9, max_size=9),
    st.lists(operation, min_size=10, max_size=50),
    st.lists(st.sampled_from([0.0, 1.0, 10.0, 30.0, 90.0]), min_size=50, max_size=50),
)
def test_admission_keeps_its_promises_under_churn(
    inv: Inventory,
    book: QuotaBook,
    flavors: list[str],
    operations: list[tuple[object, ...]],
    gaps: list[float],
) -> None:
    run(inv, book, flavors, operations, gaps)
