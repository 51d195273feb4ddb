"""The process runtime hands an app to a standby or spare only while its environment is the one it
was started from.

A factory reboot rebuilds the Space's environment without cache, in place: same folder, same
dependencies. A standby importing its SDK while the folder was deleted kept half-imported modules and
the app it was then handed died (``module 'gradio' has no attribute 'blocks'``), leaving the Space in
``RUNTIME_ERROR``. Here the environment is a bare virtual environment of the test's Python and the app
a stdlib HTTP server.
"""

from __future__ import annotations

import shutil
import venv
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestrator.runtimes import ProcessRuntime
from orchestrator.runtimes.base import Artifact, LaunchSpec
from tests.unit.test_runtimes import get, wait_for_text

SPACE = "alice/demo"
APP = """\
import http.server
import os


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"v1"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


port = int(os.environ["GRADIO_SERVER_PORT"])
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def build_env(folder: Path) -> Path:
    """What the venv engine leaves in ``folder``: a virtual environment (here without packages)."""
    venv.EnvBuilder(symlinks=True, with_pip=False).create(folder)
    return folder


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[ProcessRuntime]:
    runtime = ProcessRuntime(logs_dir=tmp_path / "logs")
    yield runtime
    await runtime.close()


@pytest.fixture
def spec(tmp_path: Path) -> LaunchSpec:
    env = build_env(tmp_path / "envs" / "deps-1")
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(APP)
    artifact = Artifact(
        kind="venv", reference=str(env), deps_reference=str(env), deps_key="deps-1", app_dir=str(app_dir)
    )
    return LaunchSpec(space_id=SPACE, artifact=artifact, app_file="app.py", env={}, preload=("json",))


@pytest.mark.parametrize("rebuilt", [False, True], ids=["same-build", "rebuilt-in-place"])
@pytest.mark.parametrize("kind", ["standby", "spare"])
async def test_a_standby_of_a_rebuilt_environment_is_not_handed_the_app(
    processes: ProcessRuntime, spec: LaunchSpec, kind: str, rebuilt: bool
) -> None:
    if kind == "standby":
        await processes.prepare_standby(spec)
        warm = processes._standbys[SPACE].instance
    else:
        await processes.keep_spares([spec], 1)
        (spare,) = processes._spares.all()
        warm = spare.instance
    await wait_for_text(Path(warm.log_path), "waiting for the app", timeout=15)
    if rebuilt:  # a factory reboot: the folder deleted and built again, same name, same dependencies
        shutil.rmtree(spec.artifact.reference)
        build_env(Path(spec.artifact.reference))

    instance = await processes.start(spec)
    try:
        assert await get(instance) == "v1"
        if rebuilt:
            assert instance.handle != warm.handle  # a cold start, from the new environment
            assert not Path(f"/proc/{warm.handle}").exists()  # the stale standby was stopped
        else:
            assert instance.handle == warm.handle
    finally:
        await processes.stop(instance)


async def test_a_stale_spare_is_replaced(processes: ProcessRuntime, spec: LaunchSpec) -> None:
    await processes.keep_spares([spec], 1)
    (stale,) = processes._spares.all()
    await wait_for_text(Path(stale.instance.log_path), "waiting for the app", timeout=15)
    shutil.rmtree(spec.artifact.reference)
    build_env(Path(spec.artifact.reference))

    await processes.keep_spares([spec], 1)
    (fresh,) = processes._spares.all()
    assert fresh.instance.handle != stale.instance.handle
    assert not Path(f"/proc/{stale.instance.handle}").exists()
