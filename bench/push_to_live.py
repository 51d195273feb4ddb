"""Seconds from ``git push`` returning to the first response of the new version at the app URL.

For each runtime that can run here (process always; container when an engine answers), on a fresh control
plane: a first push of the Gradio example, then app-only changes (dependencies cached, a warm standby given
time to start as it would between two real pushes). The new version is recognised by the title in Gradio's
``/config``, so a response from the old version still serving does not count.

Last line per runtime: ``{"runtime": ..., "app_only_s": ..., "first_push_s": ...}``.
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

APP = """import gradio as gr

demo = gr.Interface(fn=lambda name: "Hello " + name, inputs="text", outputs="text", title="{title}")
demo.launch()
"""


def wait_for_title(url: str, title: str, timeout: float = 600) -> float:
    """Poll ``/config`` until it shows ``title``; return the monotonic time it first did."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5) as client:
        while time.monotonic() < deadline:
            try:
                response = client.get(url + "config")
                if response.status_code == 200 and response.json().get("title") == title:
                    return time.monotonic()
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.02)
    raise TimeoutError(f"{url} never showed {title!r}")


def measure(runtime: str, changes: int, warm_seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{runtime}-") as tmp:
        plane = ControlPlane(data_dir=Path(tmp) / "data", runtime=runtime)
        plane.start()
        try:
            token = plane.add_user("bench")
            plane.cli("create", "bench/live", "--sdk", "gradio", token=token)
            repo = SpaceRepo.from_example(
                "gradio-hello", Path(tmp) / "repo", plane.git_url("bench/live", token)
            )
            url = plane.app_url("bench", "live")
            repo.write("app.py", APP.format(title="v0"))
            repo.commit_and_push("v0")
            pushed = time.monotonic()
            first_push = wait_for_title(url, "v0") - pushed
            print(f"[{runtime}] first push live after {first_push:.2f} s", flush=True)
            samples = []
            for version in range(1, changes + 1):
                time.sleep(warm_seconds)
                repo.write("app.py", APP.format(title=f"v{version}"))
                repo.commit_and_push(f"v{version}")
                pushed = time.monotonic()
                samples.append(wait_for_title(url, f"v{version}") - pushed)
                print(f"[{runtime}] app-only change {version} live after {samples[-1]:.2f} s", flush=True)
            return {
                "runtime": runtime,
                "app_only_s": round(statistics.median(samples), 2),
                "app_only_samples_s": [round(s, 2) for s in samples],
                "first_push_s": round(first_push, 2),
            }
        finally:
            plane.delete_all_spaces()
            plane.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=["process", "container", "all"], default="all")
    parser.add_argument("--changes", type=int, default=3, help="app-only pushes to time (median reported)")
    parser.add_argument(
        "--warm-seconds",
        type=float,
        default=15.0,
        help="pause between pushes, as between a user's edits (lets the standby warm up)",
    )
    args = parser.parse_args()
    runtimes = ["process", "container"] if args.runtime == "all" else [args.runtime]
    results = []
    for runtime in runtimes:
        if runtime == "container" and not ContainerRuntime.available():
            print("[container] skipped: no container engine answers", flush=True)
            continue
        results.append(measure(runtime, args.changes, args.warm_seconds))
    for result in results:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
