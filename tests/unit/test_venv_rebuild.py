"""A rebuild without cache (a factory reboot) of a shared environment never takes it away from the
Spaces running on it: the new build is swapped in when complete.

Real ``uv`` builds, of an environment with one small package instead of an SDK (``venv_spec`` is
replaced for that), so that the no-cache rebuild downloads little.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from builders import MemoryFiles, plan_build
from builders.recipe import VenvSpec
from orchestrator.building import venv as venv_module
from orchestrator.building.venv import VenvEngine
from orchestrator.logs import LogWriter

_SMALL = VenvSpec(
    python_version="3.11",
    packages=("six",),
    overrides=(),
    requirements=None,
    pre_requirements=None,
    deps_key="small-six",
)


def test_a_no_cache_rebuild_swaps_the_environment_in_when_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(venv_module, "venv_spec", lambda plan: _SMALL)
    plan = plan_build(MemoryFiles({"README.md": "---\nsdk: gradio\n---\n", "app.py": "print('hi')\n"}))
    engine = VenvEngine(envs_dir=tmp_path / "envs")

    def build(no_cache: bool) -> Path:
        with LogWriter(tmp_path / "build.log") as log:
            building = engine.build(
                plan=plan, app_dir=tmp_path, image_repository="x/y", sha="0" * 40, log=log, no_cache=no_cache
            )
            artifact = asyncio.run(building)
        return Path(artifact.reference)

    env = build(no_cache=False)
    python = env / "bin" / "python"
    first = (env / "pyvenv.cfg").stat().st_ino
    missing: list[float] = []
    done = threading.Event()

    def watch() -> None:  # what a Space running on the environment would see of it
        while not done.is_set():
            if not python.exists():
                missing.append(1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert build(no_cache=True) == env
    finally:
        done.set()
        watcher.join()
    assert (env / "pyvenv.cfg").stat().st_ino != first  # a new build
    assert (env / "lib/python3.11/site-packages/six.py").exists()
    assert len(missing) < 50, f"the environment was missing for {len(missing)} looks"  # two renames at most
    assert sorted(path.name for path in (tmp_path / "envs").iterdir()) == [env.name]  # nothing left over
    assert "Dependencies unchanged" not in (tmp_path / "build.log").read_text()
