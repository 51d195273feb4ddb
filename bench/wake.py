"""Wake-to-first-byte of a sleeping Gradio Space: frozen (memory kept) and stopped (memory freed).

For each runtime that can run here (process always; container when an engine answers), on a fresh control
plane with sleep times of seconds: push the Gradio example, let it fall asleep, and time a request from
sending to the first byte of the response, first while it is frozen (a thaw), then while it is stopped
(a start from its last build). Each is measured ``--samples`` times, letting the Space fall asleep again
in between. A stopped Space wakes from a spare (an interpreter with Gradio imported, started when the
Space froze); ``--no-spares`` measures the cold start instead (``SPACES_SLEEP_SPARES=0``). With the
bench's short timers (stopped ``--stop-after`` 3 s after freezing, where a server waits 15 minutes) a
spare may still be importing when the request comes; the run log's ``woken from a spare`` line says how
much of the import was left.

Last line: ``{"frozen_wake_ms": ..., "stopped_wake_s": ...}`` (the container runtime's figures when an
engine answers, else the process runtime's), after one line per runtime with every sample.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from orchestrator.runtimes.container import ContainerRuntime
from orchestrator.testing import ControlPlane, SpaceRepo

SLEEPY = {
    "SPACES_DEFAULT_SLEEP_TIME": "1",
    "SPACES_SLEEP_CHECK_INTERVAL": "0.2",
    "SPACES_SLEEP_STOP_AFTER": "3",
    "SPACES_WAKE_HOLD_SECONDS": "300",
}


def first_byte_seconds(url: str) -> float:
    """Seconds from sending a GET to receiving the response's status line and headers."""
    with httpx.Client(timeout=300, trust_env=False) as client:
        started = time.monotonic()
        with client.stream("GET", url) as response:
            elapsed = time.monotonic() - started
            response.read()
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:200]}")
    return elapsed


def measure(runtime: str, samples: int, *, spares: bool = True, stop_after: float = 3) -> dict[str, object]:
    env = {**SLEEPY, "SPACES_SLEEP_STOP_AFTER": f"{stop_after:g}"}
    if not spares:
        env["SPACES_SLEEP_SPARES"] = "0"
    with tempfile.TemporaryDirectory(prefix=f"bench-wake-{runtime}-") as tmp:
        plane = ControlPlane(data_dir=Path(tmp) / "data", runtime=runtime, extra_env=env)
        plane.start()
        try:
            token = plane.add_user("bench")
            plane.cli("create", "bench/nap", "--sdk", "gradio", token=token)
            repo = SpaceRepo.from_example(
                "gradio-hello", Path(tmp) / "repo", plane.git_url("bench/nap", token)
            )
            repo.commit_and_push("hello")
            plane.wait_settled("bench/nap", token, repo.head, timeout=900)
            url = plane.app_url("bench", "nap") + "config"
            frozen: list[float] = []
            stopped: list[float] = []
            for _ in range(samples):
                plane.wait_for("bench/nap", token, lambda r: r["stage"] == "SLEEPING" and r["servingSha"])
                frozen.append(first_byte_seconds(url))
                print(f"[{runtime}] frozen wake {frozen[-1] * 1000:.1f} ms", flush=True)
            for _ in range(samples):
                plane.wait_for(
                    "bench/nap",
                    token,
                    lambda r: r["stage"] == "SLEEPING" and not r["servingSha"],
                    timeout=120,
                )
                stopped.append(first_byte_seconds(url))
                print(f"[{runtime}] stopped wake {stopped[-1]:.2f} s", flush=True)
            return {
                "runtime": runtime,
                "spares": spares,
                "stop_after_s": stop_after,
                "frozen_wake_ms": round(statistics.median(frozen) * 1000, 1),
                "frozen_samples_ms": [round(s * 1000, 1) for s in frozen],
                "stopped_wake_s": round(statistics.median(stopped), 2),
                "stopped_samples_s": [round(s, 2) for s in stopped],
            }
        finally:
            plane.delete_all_spaces()
            plane.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=3, help="wakes measured per tier (default 3)")
    parser.add_argument(
        "--runtime", choices=["process", "container"], action="append", help="default: all here"
    )
    parser.add_argument(
        "--no-spares", action="store_true", help="wake stopped Spaces with a cold start (no spares)"
    )
    parser.add_argument(
        "--stop-after", type=float, default=3, help="seconds frozen before a Space is stopped (default 3)"
    )
    args = parser.parse_args()
    runtimes = args.runtime or ["process"] + (["container"] if ContainerRuntime.available() else [])
    results = [
        measure(runtime, args.samples, spares=not args.no_spares, stop_after=args.stop_after)
        for runtime in runtimes
    ]
    for result in results:
        print(json.dumps(result), flush=True)
    headline = next((r for r in results if r["runtime"] == "container"), results[-1])
    print(
        json.dumps(
            {"frozen_wake_ms": headline["frozen_wake_ms"], "stopped_wake_s": headline["stopped_wake_s"]}
        )
    )


if __name__ == "__main__":
    main()
