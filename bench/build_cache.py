"""Cold and warm build times per SDK, through a real control plane (the container runtime by default).

For each SDK's example in ``examples/``: a first push to a new Space (``cold``: the layer cache has none
of this Space's layers; base images and the uv/npm download caches are as this machine has them; pass
``--no-cache`` to build the first push with the engine's layer cache off too), then a push that changes
only an app file (``warm``: the system-package and dependency layers come from the cache). The time is
the pipeline's own, from the build log's ``Build succeeded in X s`` line: export, plan and build, not
the app's start.

Last line: ``{"gradio": {"cold_s": ..., "warm_s": ...}, "streamlit": {...}, "static": ..., "docker": ...}``
(``null`` where the runtime cannot build that SDK: docker on the process runtime).
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

from orchestrator.testing import ControlPlane, SpaceRepo

EXAMPLES = {
    "gradio": ("gradio-hello", "app.py"),
    "streamlit": ("streamlit-hello", "app.py"),
    "static": ("static-build", "src/index.html"),
    "docker": ("docker-hello", "server.py"),
}
_SUCCEEDED = re.compile(r"===== Build succeeded in ([0-9.]+) s =====")


def build_seconds(plane: ControlPlane, space: str, token: str) -> float:
    log = plane.cli("logs", space, "--build", "--no-follow", token=token).stdout
    found = _SUCCEEDED.findall(log)
    if not found:
        raise RuntimeError(f"{space}: no successful build\n{log[-3000:]}")
    return float(found[-1])


def push_and_time(plane: ControlPlane, repo: SpaceRepo, space: str, token: str, message: str) -> float:
    repo.commit_and_push(message)
    runtime = plane.wait_settled(space, token, repo.head, timeout=900)
    if runtime["stage"] not in ("RUNNING", "APP_STARTING", "RUNTIME_ERROR"):
        raise RuntimeError(f"{space}: {runtime['stage']}: {runtime.get('errorMessage')}")
    return build_seconds(plane, space, token)


def measure(plane: ControlPlane, tmp: Path, sdk: str, token: str) -> dict[str, float] | None:
    if sdk == "docker" and plane.runtime == "process":
        return None
    example, app_file = EXAMPLES[sdk]
    name = f"{sdk}-{int(time.time())}"
    space = f"bench/{name}"
    plane.cli("create", space, "--sdk", sdk, token=token)
    repo = SpaceRepo.from_example(example, tmp / name, plane.git_url(space, token))
    cold = push_and_time(plane, repo, space, token, "first push")
    path = repo.path / app_file
    comment = "<!-- v2 -->\n" if app_file.endswith(".html") else "# v2\n"
    path.write_text(path.read_text() + comment)
    warm = push_and_time(plane, repo, space, token, "app-only change")
    print(f"{sdk:10} cold {cold:7.2f} s   warm {warm:6.2f} s", flush=True)
    return {"cold_s": cold, "warm_s": warm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", default="container", choices=("container", "process"))
    parser.add_argument("--sdk", action="append", choices=tuple(EXAMPLES), help="default: all four")
    args = parser.parse_args()
    results: dict[str, dict[str, float] | None] = {}
    with tempfile.TemporaryDirectory(prefix="bench-build-") as folder:
        tmp = Path(folder)
        plane = ControlPlane(data_dir=tmp / "data", runtime=args.runtime)
        plane.start()
        try:
            token = plane.add_user("bench")
            for sdk in args.sdk or list(EXAMPLES):
                results[sdk] = measure(plane, tmp, sdk, token)
        finally:
            plane.delete_all_spaces()
            plane.stop()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
