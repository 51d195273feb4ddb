"""Admission under churn: 10,000 Spaces of 100 teams on a 100-node GPU pool, decided by the scheduler.

The pool (declared, no GPU needed): 40 nodes of 8 A10G, 20 of 8 L4, 20 of 8 H100, 10 of 8 A100-80GB
split into 56 MIG 1g.10gb instances each, 10 of 4 T4 time-sliced into 4 replicas. Teams sit in 10
cohorts of 10, with nominal quotas that add up to the pool, some borrowing and lending limits, and
priorities. Spaces mostly sleep (a sleeping Space holds no GPU) and wake on visits: each event is a
wake, a visit, a sleep, a deletion and re-creation, or (rarely) a quota change, on a simulated clock.
Preemptions are carried out at once (targets released, evicted ones requeued), as the control plane
would. Every call into the scheduler is timed.

Last line: ``{"spaces": 10000, "teams": 100, "admissions_per_s": ..., "decision_p99_ms": ...,
"wake_to_admitted_ms_p50": ...}``: admissions per second of scheduler time, the 99th percentile of one
call (request or release, with the decisions it triggers), and for wakes admitted without waiting for
another Space's lifetime (at once, or after preempting), the time from the wake to its admission.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

from orchestrator.scheduling.decisions import Action, Admitted, Decision, Pending, Preempt, Rejected
from orchestrator.scheduling.flavors import DEFAULT_CATALOG, parse_catalog
from orchestrator.scheduling.inventory import Gpu, Inventory, MigDevice, Node, Sharing, Taint
from orchestrator.scheduling.quotas import QuotaBook, ResourceQuota, TeamQuota
from orchestrator.scheduling.scheduler import Scheduler
from orchestrator.scheduling.snapshot import Policy, Snapshot
from orchestrator.scheduling.teams import TeamDirectory
from orchestrator.scheduling.workloads import SpaceRequest

T = TypeVar("T")
GIB = 2**30
EXTRA_FLAVORS = """
  a100-1g:
    name: A100 MIG 1g.10gb
    cpu: 2
    memory: 12Gi
    resources: {nvidia.com/mig-1g.10gb: 1}
    node: *gpu-node
  t4-shared:
    name: Nvidia T4 - shared
    cpu: 2
    memory: 8Gi
    resources: {nvidia.com/gpu.shared: 1}
    gpu: {product: T4}
    node: *gpu-node
"""
# Share of Spaces per flavor, and the device pool each draws on.
MIX = {
    "cpu-basic": 0.10,
    "a10g-small": 0.25,
    "a10g-large": 0.10,
    "a10g-largex2": 0.03,
    "l4x1": 0.12,
    "l4x4": 0.02,
    "h100": 0.08,
    "a100-1g": 0.18,
    "t4-shared": 0.12,
}
CAPACITY = {"a10g": 320, "l4": 160, "h100": 160, "a100-1g": 560, "t4-shared": 160}
POOL = {
    "a10g-small": "a10g",
    "a10g-large": "a10g",
    "a10g-largex2": "a10g",
    "l4x1": "l4",
    "l4x4": "l4",
    "h100": "h100",
    "a100-1g": "a100-1g",
    "t4-shared": "t4-shared",
}
GPUS = {"a10g-largex2": 2, "l4x4": 4}
"""Devices per Space where more than one (quotas are shared out in proportion to the devices wanted)."""
WAKE = 0.1
"""Chance that an event picking a sleeping Space is a visit that wakes it (sleeping Spaces are seldom
visited); about one Space in five then wants to run, twice what the GPU pool holds."""
TICK = 30.0
"""Simulated seconds between the control plane's periodic ``tick``."""


def inventory() -> Inventory:
    nodes: list[Node] = []
    taint = (Taint("nvidia.com/gpu", "present"),)

    def cards(prefix: str, count: int, product: str, memory: int, **kw: object) -> tuple[Gpu, ...]:
        return tuple(Gpu(product, f"GPU-{prefix}-{i}", memory * GIB, i, **kw) for i in range(count))  # type: ignore[arg-type]

    for n in range(40):
        nodes.append(Node(f"a10g-{n}", cards(f"a10g-{n}", 8, "NVIDIA A10G", 23), taints=taint))
    for n in range(20):
        nodes.append(Node(f"l4-{n}", cards(f"l4-{n}", 8, "NVIDIA L4", 23), taints=taint))
    for n in range(20):
        nodes.append(Node(f"h100-{n}", cards(f"h100-{n}", 8, "NVIDIA H100 80GB HBM3", 80), taints=taint))
    for n in range(10):
        gpus = cards(f"a100-{n}", 8, "NVIDIA A100-SXM4-80GB", 80, mig_enabled=True)
        mig = tuple(
            MigDevice("1g.10gb", f"MIG-a100-{n}-{c}-{s}", 9728 * 2**20, gpu.uuid)
            for c, gpu in enumerate(gpus)
            for s in range(7)
        )
        nodes.append(Node(f"a100-{n}", gpus, mig, taints=taint))
    for n in range(10):
        gpus = cards(f"t4-{n}", 4, "Tesla T4", 15, sharing=Sharing.TIME_SLICING, replicas=4)
        nodes.append(Node(f"t4-{n}", gpus, taints=taint))
    return Inventory(tuple(nodes), "declared")


def quotas(rng: random.Random, teams: list[str], scale: float = 1.0) -> QuotaBook:
    """Nominal quotas that add up to the pool (shared out unevenly), in cohorts of 10."""
    book: dict[str, TeamQuota] = {}
    weights = [rng.uniform(0.5, 1.5) for _ in teams]
    total = sum(weights)
    for team, weight in zip(teams, weights, strict=True):
        cohort = f"cohort-{int(team.split('-')[1]) // 10}"
        limits: dict[tuple[str, str], ResourceQuota] = {}
        for flavor, pool in POOL.items():
            demand = sum(MIX[f] * GPUS.get(f, 1) for f, p in POOL.items() if p == pool)
            share = CAPACITY[pool] * weight / total * MIX[flavor] * GPUS.get(flavor, 1) / demand * scale
            resource = {"a100-1g": "nvidia.com/mig-1g.10gb", "t4-shared": "nvidia.com/gpu.shared"}.get(
                flavor, "nvidia.com/gpu"
            )
            nominal = max(0, round(share))
            borrow = rng.choice([None, 2, 4, 8])
            lend = rng.choice([None, None, max(0, nominal - 1)])
            limits[(flavor, resource)] = ResourceQuota(nominal, borrow, lend)
        book[team] = TeamQuota(team, cohort, limits)
    return QuotaBook(book)


CPU: list[float] = []
"""CPU time of each call (``thread_time``), beside its wall time: on a shared machine the wall time also
counts the time other processes had the CPU."""


def timed(calls: list[float], fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    started, cpu = time.perf_counter(), time.thread_time()
    result = fn(*args, **kwargs)
    calls.append(time.perf_counter() - started)
    CPU.append(time.thread_time() - cpu)
    return result


def run(spaces: int, teams_n: int, events: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    catalog = parse_catalog(DEFAULT_CATALOG.read_text() + EXTRA_FLAVORS, "bench")
    teams = [f"team-{i}" for i in range(teams_n)]
    book = quotas(rng, teams)
    snapshot = Snapshot(catalog, inventory(), book, TeamDirectory(), Policy(idle_after=300))
    scheduler = Scheduler(snapshot)
    flavors, weights = zip(*MIX.items(), strict=True)
    space_flavor: dict[str, str] = {}
    space_team: dict[str, str] = {}
    priority: dict[str, int] = {}
    state: dict[str, str] = {}
    generation = 0

    def new_space(i: int) -> str:
        nonlocal generation
        generation += 1
        team = teams[i % teams_n]
        name = f"{team}/space-{i}-{generation}"
        space_flavor[name] = rng.choices(flavors, weights)[0]
        space_team[name] = team
        priority[name] = rng.choice([0, 0, 0, 10])
        state[name] = "asleep"
        return name

    names = [new_space(i) for i in range(spaces)]
    calls: list[float] = []
    admitted = 0
    wake_ms: list[float] = []
    queued_waits: list[float] = []
    wake_started: dict[str, float] = {}
    wake_sim: dict[str, float] = {}
    counts = {"preempt": 0, "sleep_targets": 0, "evict_targets": 0, "rejected": 0, "pending": 0}

    def handle(decisions: list[Decision], now: float) -> None:
        nonlocal admitted
        queue = list(decisions)
        while queue:
            decision = queue.pop(0)
            space = decision.request.space
            if isinstance(decision, Admitted):
                admitted += 1
                state[space] = "running"
                if space in wake_started:
                    wake_ms.append((time.perf_counter() - wake_started.pop(space)) * 1000)
                if space in wake_sim:
                    queued_waits.append(now - wake_sim.pop(space))
            elif isinstance(decision, Preempt):
                counts["preempt"] += 1
                for target in decision.targets:
                    counts["sleep_targets" if target.action is Action.SLEEP else "evict_targets"] += 1
                    state[target.space] = "asleep" if target.action is Action.SLEEP else "waiting"
                    evict = target.action is Action.EVICT
                    queue.extend(timed(calls, scheduler.release, target.space, now, requeue=evict))
            elif isinstance(decision, Rejected):
                counts["rejected"] += 1
                state[space] = "asleep"
                wake_started.pop(space, None)
            elif isinstance(decision, Pending):
                state[space] = "waiting"

    now = 0.0
    next_tick = TICK
    ticks: list[float] = []
    for step in range(events):
        now += rng.expovariate(50.0)
        roll = rng.random()
        if now >= next_tick:  # the control plane's periodic look (idle teammates, new borrowers)
            next_tick += TICK
            handle(timed(ticks, scheduler.tick, now), now)
        if step % 20_000 == 19_999:
            book = quotas(rng, teams, scale=rng.uniform(0.8, 1.2))
            handle(timed(calls, scheduler.set_quotas, book, now), now)
            continue
        i = rng.randrange(len(names))
        space = names[i]
        current = state[space]
        if roll < 0.01:  # deleted and replaced by a new Space of the same team
            handle(timed(calls, scheduler.release, space, now), now)
            wake_started.pop(space, None)
            wake_sim.pop(space, None)
            state[space] = "gone"
            names[i] = new_space(i)
            continue
        if current == "asleep":
            if roll > WAKE:
                continue  # no visitor for this sleeping Space now
            request = SpaceRequest(space, space_team[space], space_flavor[space], priority[space])
            wake_started[space] = time.perf_counter()
            decision = timed(calls, scheduler.request, request, now)
            if isinstance(decision, Pending):
                counts["pending"] += 1
                wake_started.pop(space, None)  # it waits for another Space's lifetime: measured in sim time
                wake_sim[space] = now
            handle([decision], now)
        elif current == "running":
            if roll < 0.6:
                timed(calls, scheduler.touch, space, now)
            else:  # its idle timer ran out: it sleeps
                state[space] = "asleep"
                handle(timed(calls, scheduler.release, space, now), now)
        elif current == "waiting" and roll < 0.05:  # the visitor gave up
            state[space] = "asleep"
            wake_sim.pop(space, None)
            handle(timed(calls, scheduler.release, space, now), now)
    total = sum(calls) + sum(ticks)
    cpu_sorted = sorted(CPU)
    ordered = sorted(calls)
    running = sum(1 for s in state.values() if s == "running")
    return {
        "spaces": spaces,
        "teams": teams_n,
        "events": events,
        "admissions": admitted,
        "running_at_end": running,
        "waiting_at_end": len(scheduler.queue),
        "gpu_devices": len(snapshot.index.devices),
        **counts,
        "ticks": len(ticks),
        "tick_p50_ms": round(statistics.median(ticks) * 1000, 2) if ticks else None,
        "queued_wake_wait_s_p50": round(statistics.median(queued_waits), 2) if queued_waits else None,
        "decision_p50_ms": round(ordered[len(ordered) // 2] * 1000, 4),
        "cpu_admissions_per_s": round(admitted / sum(CPU), 1),
        "cpu_decision_p99_ms": round(cpu_sorted[int(len(cpu_sorted) * 0.99)] * 1000, 4),
        "admissions_per_s": round(admitted / total, 1),
        "decision_p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 4),
        "wake_to_admitted_ms_p50": round(statistics.median(wake_ms), 4) if wake_ms else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spaces", type=int, default=10_000)
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    result = run(args.spaces, args.teams, args.events, args.seed)
    details = {
        k: v
        for k, v in result.items()
        if k not in ("spaces", "teams", "admissions_per_s", "decision_p99_ms", "wake_to_admitted_ms_p50")
    }
    details["load_average_1m"] = round(os.getloadavg()[0], 2)  # the machine is shared: read figures with it
    print(json.dumps({"details": details}))
    keys = ("spaces", "teams", "admissions_per_s", "decision_p99_ms", "wake_to_admitted_ms_p50")
    print(json.dumps({k: result[k] for k in keys}))


if __name__ == "__main__":
    main()
