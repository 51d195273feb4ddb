"""ZeroGPU device API: grant latency, throughput of 1-second calls, and the queue's priority order.

Runs ``python -m orchestrator.zerogpu run`` with a declared pool of ``--devices`` GPUs, and as its
"app" this same file with ``--load``: the load runs in the Space's process and talks to the device API
over HTTP with the `spaces` package's own API client, as a ZeroGPU Space does.

- grant: ``--samples`` sequential ``/schedule`` calls for an idle GPU (each then allowed and released),
  timed from sending the request to the parsed grant: p50 and p99 in ms (goal: p99 under 10 ms); and
  the device API's CPU time per call (its three requests), which a busy machine does not inflate.
- throughput: ``--clients`` visitors each loop schedule (queueing when every GPU is busy), hold the GPU
  1 s, release; calls completed per second over ``--seconds`` after a 2 s warm-up (ideal: one per GPU
  per second, ``ideal_calls_per_s``).
- fairness: every GPU held, then visitors of every tier with various declared durations queue one call
  each, in random order; one GPU is freed and the calls go through it one by one. The grant order must
  be the documented one: most quota left after the call first (tier's quota minus duration), then
  arrival.

Last line: ``{"grant_ms_p50": ..., "grant_ms_p99": ..., "calls_per_s_1s_calls": ...,
"queue_fairness_ok": true, ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

SPACE = "bench/zerogpu"


def _client() -> Any:
    from spaces.zero.api import APIClient

    return APIClient(httpx.Client(base_url=os.environ["SPACES_ZERO_DEVICE_API_URL"], timeout=120))


def _tokens(data_dir: Path) -> Any:
    from orchestrator.zerogpu import identity
    from orchestrator.zerogpu.settings import Tier

    key = identity.load_or_create_key(data_dir)

    def token(subject: str, tier: str = "pro") -> str:
        now = time.time()
        return identity.mint_for(key, subject=subject, tier=Tier(tier), space_id=SPACE, now=now, ttl_s=3600)

    return token


def _schedule(client: Any, token: str, duration: int = 60) -> Any:
    """Schedule a call and wait for its grant, queueing if need be (the client's own calls)."""
    from spaces.zero.api import ScheduleResponse

    result, _ = client.schedule(
        cgroup_path="/", task_id=1, token=token, token_version=2, duration_seconds=duration
    )
    if isinstance(result, ScheduleResponse):
        return result
    for event in result:
        if event.event == "succeeded":
            return event.data
        if event.event == "failed":
            raise RuntimeError("a queued call timed out")
    raise RuntimeError(f"/schedule answered {result}")


def _server_cpu_s() -> float:
    """CPU seconds the device API has used: it is this load's parent (``run`` started it)."""
    fields = Path(f"/proc/{os.getppid()}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_grants(token: Any, samples: int) -> dict[str, float]:
    client = _client()
    pid = os.getpid()
    times = []
    cpu_before = 0.0
    visitors = [token(f"user:grant-{i}") for i in range(50)]
    for i in range(samples + 50):
        started = time.perf_counter()
        grant = _schedule(client, visitors[i % len(visitors)])
        elapsed = time.perf_counter() - started
        client.allow(grant.allowToken, pid)
        client.release(grant.allowToken)
        if i == 49:
            cpu_before = _server_cpu_s()
        if i >= 50:  # the first calls warm up connections and code paths
            times.append(elapsed * 1000)
    cpu_ms = (_server_cpu_s() - cpu_before) * 1000 / samples
    quantiles = statistics.quantiles(times, n=100)
    return {
        "grant_ms_p50": round(quantiles[49], 3),
        "grant_ms_p99": round(quantiles[98], 3),
        # Whatever the load of the machine: the server's CPU per schedule + allow + release.
        "server_cpu_ms_per_call": round(cpu_ms, 3),
    }


def measure_throughput(token: Any, clients: int, seconds: float) -> dict[str, float]:
    """Calls of 1 s completed per second of a window in which every visitor keeps asking."""
    pid = os.getpid()
    done: list[float] = []
    lock = threading.Lock()
    warm_until = time.monotonic() + 2.0  # let every visitor get into the cycle first
    stop_at = warm_until + seconds

    def visitor(number: int) -> None:
        client = _client()
        mine = token(f"user:load-{number}")
        while time.monotonic() < stop_at:
            grant = _schedule(client, mine, duration=30)
            client.allow(grant.allowToken, pid)
            time.sleep(1.0)
            client.release(grant.allowToken)
            with lock:
                done.append(time.monotonic())

    threads = [threading.Thread(target=visitor, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    in_window = [t for t in done if warm_until <= t < stop_at]
    return {"calls_per_s_1s_calls": round(len(in_window) / seconds, 2), "throughput_calls": len(in_window)}


def measure_fairness(token: Any, data_dir: Path, devices: int, callers: int, seed: int) -> dict[str, Any]:
    from orchestrator.zerogpu.settings import Tier, load_settings

    pid = os.getpid()
    client = _client()
    fillers = [_schedule(client, token(f"user:filler-{i}"), duration=300) for i in range(devices)]
    rng = random.Random(seed)
    settings = load_settings(data_dir / "settings.yaml")
    daily = {tier.value: limits.daily_s for tier, limits in settings.tiers.items()}
    people = []
    for i in range(callers):
        tier = rng.choice([t.value for t in Tier])
        people.append((f"user:fair-{i}", tier, rng.randint(5, min(100, daily[tier]))))
    grants: list[tuple[float, int]] = []
    lock = threading.Lock()

    def caller(arrival: int, subject: str, tier: str, duration: int) -> None:
        own = _client()
        grant = _schedule(own, token(subject, tier), duration=duration)
        with lock:
            grants.append((time.monotonic(), arrival))
        own.allow(grant.allowToken, pid)
        own.release(grant.allowToken)

    threads = []
    for arrival, (subject, tier, duration) in enumerate(people):
        thread = threading.Thread(target=caller, args=(arrival, subject, tier, duration))
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 10
        while client.get_queue_size() < arrival + 1 and time.monotonic() < deadline:
            time.sleep(0.002)
    client.allow(fillers[0].allowToken, pid)
    client.release(fillers[0].allowToken)
    for thread in threads:
        thread.join()
    for filler in fillers[1:]:
        client.allow(filler.allowToken, pid)
        client.release(filler.allowToken)
    served = [arrival for _, arrival in sorted(grants)]
    expected = sorted(range(callers), key=lambda a: (-(daily[people[a][1]] - people[a][2]), a))
    return {"queue_fairness_ok": served == expected, "fairness_callers": callers}


def run_load(args: argparse.Namespace) -> None:
    token = _tokens(args.data_dir)
    results: dict[str, Any] = {}
    results.update(measure_grants(token, args.samples))
    results.update(measure_throughput(token, args.clients, args.seconds))
    results.update(measure_fairness(token, args.data_dir, args.devices, args.callers, args.seed))
    print("BENCH " + json.dumps(results), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=8)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--callers", type=int, default=24)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        run_load(args)
        return
    with tempfile.TemporaryDirectory(prefix="bench-zerogpu-") as tmp:
        data_dir = Path(tmp)
        pool = data_dir / "pool.yaml"
        pool.write_text(
            "devices:\n"
            + "".join(f"  - {{index: {i}, uuid: GPU-bench-{i}, size: large}}\n" for i in range(args.devices))
        )
        # Hub tiers, but enough quota for the load phases' thousands of calls; runs limit above --clients.
        settings = data_dir / "settings.yaml"
        settings.write_text("max_active_calls: 64\ntiers:\n  pro: {daily_s: 10000000, max_call_s: 2400}\n")
        load = [sys.executable, __file__, "--load", "--data-dir", str(data_dir)]
        knobs = ("devices", "samples", "clients", "seconds", "callers", "seed")
        load += [f"--{knob}={getattr(args, knob)}" for knob in knobs]
        command = [
            sys.executable, "-m", "orchestrator.zerogpu", "run",
            "--pool", str(pool), "--settings", str(settings), "--data-dir", str(data_dir),
            "--space", SPACE, "--concurrency", "1000", "--", *load,
        ]  # fmt: skip
        completed = subprocess.run(command, capture_output=True, text=True, timeout=900)
        lines = [line for line in completed.stdout.splitlines() if line.startswith("BENCH ")]
        if completed.returncode != 0 or not lines:
            sys.stderr.write(completed.stdout[-3000:] + completed.stderr[-3000:])
            raise SystemExit(f"the load failed (exit {completed.returncode})")
        results = json.loads(lines[-1].removeprefix("BENCH "))
    results.update(
        {
            "ideal_calls_per_s": args.devices,
            "devices": args.devices,
            "clients": args.clients,
            "grant_samples": args.samples,
        }
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
