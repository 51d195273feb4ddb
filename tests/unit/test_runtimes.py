"""The runtimes against real processes and a real container engine, with a tiny stdlib HTTP app.

The app answers its own ``VERSION`` and writes a file in its working folder; ``preload=("json",)``
stands in for an SDK so the tests stay fast. Container tests need Docker or Podman and are skipped
when no engine answers.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
import sys
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import InvalidInputError
from orchestrator.runtimes import ContainerRuntime, ProcessRuntime, make_runtime
from orchestrator.runtimes.base import Artifact, Instance, InstanceState, LaunchSpec, Runtime
from orchestrator.runtimes.launcher import main as launcher_main

APP = """\
import http.server
import os
import pathlib

VERSION = {version!r}
pathlib.Path("written.txt").write_text(VERSION)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (VERSION + " " + os.environ.get("GREETING", "")).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


host = os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0")
port = int(os.environ.get("GRADIO_SERVER_PORT", "7860"))
print("listening on", port, flush=True)
http.server.ThreadingHTTPServer((host, port), Handler).serve_forever()
"""

CRASHING_APP = """\
def explode():
    raise RuntimeError("boom from the app")

print("about to fail", flush=True)
explode()
"""

BASE_IMAGE = "localhost/spaces/python:3.11"
SPACE = "alice/demo"


def write_app(folder: Path, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "app.py").write_text(source)
    return folder


async def get(instance: Instance, timeout: float = 30.0) -> str:
    """The first answer of the instance's port, waiting for it to listen."""
    url = f"http://{instance.host}:{instance.port}/"

    def fetch() -> str:
        with urllib.request.urlopen(url, timeout=2) as response:
            body: bytes = response.read()
            return body.decode()

    deadline = time.monotonic() + timeout
    while True:
        try:
            return await asyncio.to_thread(fetch)
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.02)


async def wait_exited(runtime: Runtime, instance: Instance, timeout: float = 20.0) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = await runtime.status(instance)
        if status.state is InstanceState.EXITED:
            return status.exit_code
        await asyncio.sleep(0.05)
    raise AssertionError(f"{instance.instance_id} did not exit")


async def wait_for_text(path: Path, text: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    content = ""
    while time.monotonic() < deadline:
        content = path.read_text(errors="replace") if path.exists() else ""
        if text in content:
            return content
        await asyncio.sleep(0.05)
    raise AssertionError(f"{text!r} not in {path}:\n{content}")


# -- the launcher on its own ------------------------------------------------------------------------


def test_launcher_runs_app_as_main_and_exits_like_python(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", "import sys\nprint(__name__, sys.argv)\nraise SystemExit(3)\n")
    exit_file = tmp_path / "exit"
    assert launcher_main(["run", str(app / "app.py"), "--exit-file", str(exit_file)]) == 3
    assert exit_file.read_text().strip() == "3"


def test_make_runtime_by_name(tmp_path: Path) -> None:
    assert isinstance(make_runtime("process", logs_dir=tmp_path, container_host=""), ProcessRuntime)
    with pytest.raises(InvalidInputError, match="auto, process, container"):
        make_runtime("kubernetes", logs_dir=tmp_path, container_host="")
    auto = make_runtime("auto", logs_dir=tmp_path, container_host="")
    assert auto.name == ("container" if ContainerRuntime.available() else "process")


# -- process runtime --------------------------------------------------------------------------------


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[ProcessRuntime]:
    runtime = ProcessRuntime(logs_dir=tmp_path / "logs")
    yield runtime
    await runtime.close()


def venv_spec(app_dir: Path, *, deps_key: str = "deps-1", env: dict[str, str] | None = None) -> LaunchSpec:
    artifact = Artifact(
        kind="venv", reference=sys.prefix, deps_reference=sys.prefix, deps_key=deps_key, app_dir=str(app_dir)
    )
    return LaunchSpec(
        space_id=SPACE, artifact=artifact, app_file="app.py", env=env or {"GREETING": "hi"}, preload=("json",)
    )


async def test_process_cold_start_answers_and_writes_in_its_folder(
    processes: ProcessRuntime, tmp_path: Path
) -> None:
    app_dir = write_app(tmp_path / "v1", APP.format(version="v1"))
    instance = await processes.start(venv_spec(app_dir))
    try:
        assert await get(instance) == "v1 hi"
        assert (app_dir / "written.txt").read_text() == "v1"
        assert (await processes.status(instance)).state is InstanceState.RUNNING
        assert "listening on" in Path(instance.log_path).read_text()
    finally:
        await processes.stop(instance)
    assert (await processes.status(instance)).state is InstanceState.EXITED


async def test_process_standby_start_is_faster(processes: ProcessRuntime, tmp_path: Path) -> None:
    # A preload that takes a while makes the difference visible without a real SDK.
    (tmp_path / "slowmod").mkdir()
    (tmp_path / "slowmod" / "slow_sdk.py").write_text("import time\ntime.sleep(1.0)\n")
    env = {"GREETING": "hi", "PYTHONPATH": str(tmp_path / "slowmod")}
    cold_dir = write_app(tmp_path / "v1", "import slow_sdk\n" + APP.format(version="v1"))
    warm_dir = write_app(tmp_path / "v2", "import slow_sdk\n" + APP.format(version="v2"))
    cold_spec = venv_spec(cold_dir, env=env)
    warm_spec = venv_spec(warm_dir, env={**env, "GREETING": "hello"})
    warm_spec = LaunchSpec(**{**warm_spec.__dict__, "preload": ("json", "slow_sdk")})

    started = time.monotonic()
    cold = await processes.start(cold_spec)
    assert await get(cold) == "v1 hi"
    cold_seconds = time.monotonic() - started

    await processes.prepare_standby(warm_spec)
    await wait_for_text(
        Path(processes.log_path(SPACE, _standby_id(processes))), "waiting for the app", timeout=15
    )

    started = time.monotonic()
    warm = await processes.start(warm_spec)
    assert await get(warm) == "v2 hello"
    warm_seconds = time.monotonic() - started
    try:
        assert warm.instance_id != cold.instance_id
        assert (warm_dir / "written.txt").read_text() == "v2"
        assert warm_seconds < cold_seconds - 0.5, (cold_seconds, warm_seconds)
    finally:
        await processes.stop(cold)
        await processes.stop(warm)
    print(f"process cold {cold_seconds:.2f}s, standby {warm_seconds:.2f}s")


def _standby_id(runtime: ProcessRuntime) -> str:
    standbys: dict[str, Any] = runtime._standbys
    return str(standbys[SPACE].instance.instance_id)


async def test_process_standby_with_other_deps_is_discarded(
    processes: ProcessRuntime, tmp_path: Path
) -> None:
    app_dir = write_app(tmp_path / "v1", APP.format(version="v1"))
    await processes.prepare_standby(venv_spec(app_dir, deps_key="old"))
    standby_pid = int(processes._standbys[SPACE].instance.handle)
    instance = await processes.start(venv_spec(app_dir, deps_key="new"))
    try:
        assert int(instance.handle) != standby_pid
        assert await get(instance) == "v1 hi"
        assert not Path(f"/proc/{standby_pid}").exists()
    finally:
        await processes.stop(instance)


def _port_taken_by_others(port: int) -> bool:
    """Whether a program that binds ``port`` plainly (no ``SO_REUSEADDR``), as an outgoing connection's
    source port or another ``bind`` would, is refused it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as stranger:
        try:
            stranger.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "standby"])
async def test_process_port_is_held_for_the_app_until_it_stops(
    processes: ProcessRuntime, tmp_path: Path, warm: bool
) -> None:
    # The port is chosen before the app imports its SDK, which takes seconds on a loaded machine. Were
    # it free meanwhile, another program could take it and Gradio would listen on the next port while
    # the readiness check waits on this one (a Space stuck in APP_STARTING). The app here binds only
    # once told to, so the port is checked in that window; it binds with SO_REUSEADDR, like servers do.
    go = tmp_path / "go"
    slow_app = f"import pathlib, time\nwhile not pathlib.Path({str(go)!r}).exists(): time.sleep(0.02)\n"
    app_dir = write_app(tmp_path / "v1", slow_app + APP.format(version="v1"))
    spec = venv_spec(app_dir)
    if warm:
        await processes.prepare_standby(spec)
    instance = await processes.start(spec)
    try:
        assert _port_taken_by_others(instance.port)
        go.touch()
        assert await get(instance) == "v1 hi"
    finally:
        await processes.stop(instance)
    assert not processes._ports  # released (the port itself may sit in TIME_WAIT a while)


async def test_process_crash_is_exited_with_traceback(processes: ProcessRuntime, tmp_path: Path) -> None:
    app_dir = write_app(tmp_path / "bad", CRASHING_APP)
    instance = await processes.start(venv_spec(app_dir))
    assert await wait_exited(processes, instance) == 1
    log = Path(instance.log_path).read_text()
    assert "Traceback (most recent call last)" in log
    assert "RuntimeError: boom from the app" in log
    assert 'app.py", line 2, in explode' in log
    assert "runpy" not in log and "launcher.py" not in log
    assert not Path(f"/proc/{instance.handle}").exists()  # reaped, no zombie

    # A control plane that restarts reads the exit status from the exit file.
    again = ProcessRuntime(logs_dir=processes.logs_dir)
    status = await again.status(Instance(**instance.__dict__))
    assert (status.state, status.exit_code) == (InstanceState.EXITED, 1)


async def test_process_crash_from_standby(processes: ProcessRuntime, tmp_path: Path) -> None:
    app_dir = write_app(tmp_path / "bad", CRASHING_APP)
    await processes.prepare_standby(venv_spec(app_dir))
    instance = await processes.start(venv_spec(app_dir))
    assert await wait_exited(processes, instance) == 1
    assert "RuntimeError: boom from the app" in Path(instance.log_path).read_text()


async def test_process_status_after_control_plane_restart(processes: ProcessRuntime, tmp_path: Path) -> None:
    app_dir = write_app(tmp_path / "v1", APP.format(version="v1"))
    instance = await processes.start(venv_spec(app_dir))
    await get(instance)
    stored = {field: getattr(instance, field) for field in instance.__dataclass_fields__}
    rebuilt = Instance(**stored)

    restarted = ProcessRuntime(logs_dir=processes.logs_dir)
    assert (await restarted.status(rebuilt)).state is InstanceState.RUNNING
    # Same pid, another instance id: a recycled pid is not taken for the instance.
    impostor = Instance(**{**stored, "instance_id": "someone-else", "log_path": str(tmp_path / "none.log")})
    assert (await restarted.status(impostor)).state is InstanceState.MISSING
    await restarted.stop(impostor)
    assert await get(instance) == "v1 hi"

    await restarted.stop(rebuilt)
    assert (await restarted.status(rebuilt)).state is InstanceState.EXITED
    assert (await processes.status(instance)).state is InstanceState.EXITED


async def test_process_spare_wakes_a_space_without_carrying_another_spaces_variables(
    processes: ProcessRuntime, tmp_path: Path
) -> None:
    app_dir = write_app(tmp_path / "v1", APP.format(version="v1"))
    spec = replace(venv_spec(app_dir, env={"GREETING": "hi", "TOKEN": "secret"}), sdk_env={"SDK": "1"})
    other = replace(spec, space_id="bob/other", env={"GREETING": "yo"})
    await processes.keep_spares([spec, other], 2)
    spares = processes._spares.all()
    assert len(spares) == 1  # one for the dependency set both Spaces share
    spare = spares[0].instance
    environ = Path(f"/proc/{spare.handle}/environ").read_bytes().split(b"\0")
    assert b"SDK=1" in environ and not [v for v in environ if b"secret" in v or b"GREETING" in v]
    await wait_for_text(Path(spare.log_path), "waiting for the app", timeout=15)

    # Nothing held the port it was started with while it waited: another program took it meanwhile.
    squatter = socket.create_server(("127.0.0.1", spare.port))
    instance = await processes.start(spec)
    try:
        assert (instance.handle, instance.space_id) == (spare.handle, SPACE)
        assert instance.port != spare.port
        assert instance.log_path == str(processes.log_path(SPACE, instance.instance_id))
        assert await get(instance) == "v1 hi"
        log = await wait_for_text(Path(instance.log_path), "listening on")
        assert "woken from a spare with json imported" in log
        assert len(processes._spares) == 0
    finally:
        squatter.close()
        await processes.stop(instance)
    assert not Path(spare.log_path).exists()


async def test_process_spares_are_stopped_when_no_longer_wanted(
    processes: ProcessRuntime, tmp_path: Path
) -> None:
    app_dir = write_app(tmp_path / "v1", APP.format(version="v1"))
    await processes.keep_spares([venv_spec(app_dir, deps_key="a"), venv_spec(app_dir, deps_key="b")], 1)
    (first,) = processes._spares.all()
    await processes.keep_spares([venv_spec(app_dir, deps_key="a")], 1)
    assert processes._spares.all() == [first]  # kept, not restarted
    await processes.keep_spares([], 0)
    assert len(processes._spares) == 0
    assert not Path(f"/proc/{first.instance.handle}").exists()
    # A Space that takes a spare whose dependencies are not its own starts cold.
    await processes.keep_spares([venv_spec(app_dir, deps_key="a")], 1)
    instance = await processes.start(venv_spec(app_dir, deps_key="b"))
    try:
        assert len(processes._spares) == 1 and await get(instance) == "v1 hi"
    finally:
        await processes.stop(instance)


async def test_process_crash_from_a_spare_is_in_the_spaces_exit_file(
    processes: ProcessRuntime, tmp_path: Path
) -> None:
    app_dir = write_app(tmp_path / "bad", CRASHING_APP)
    await processes.keep_spares([venv_spec(app_dir)], 1)
    instance = await processes.start(venv_spec(app_dir))
    assert await wait_exited(processes, instance) == 1
    assert "RuntimeError: boom from the app" in Path(instance.log_path).read_text()
    restarted = ProcessRuntime(logs_dir=processes.logs_dir)
    status = await restarted.status(Instance(**instance.__dict__))
    assert (status.state, status.exit_code) == (InstanceState.EXITED, 1)


CONTROL_PLANE = """\
import asyncio, json, sys
from pathlib import Path
from orchestrator.runtimes import ProcessRuntime
from orchestrator.runtimes.base import Artifact, LaunchSpec

async def main():
    runtime = ProcessRuntime(logs_dir=Path(sys.argv[1]))
    artifact = Artifact("venv", sys.prefix, sys.prefix, "deps-1", sys.argv[2])
    spec = LaunchSpec("alice/demo", artifact, "app.py", {"GREETING": "hi"}, preload=("json",))
    instance = await runtime.start(spec)
    await runtime.prepare_standby(spec)
    standby = runtime._standbys["alice/demo"].instance
    print(json.dumps({"instance": instance.__dict__, "standby": standby.handle}))

asyncio.run(main())
"""


async def test_process_instance_outlives_its_control_plane(tmp_path: Path) -> None:
    app_dir = write_app(tmp_path / "v1", APP.format(version="v1"))
    logs_dir = tmp_path / "logs"
    control_plane = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CONTROL_PLANE, str(logs_dir), str(app_dir), stdout=asyncio.subprocess.PIPE
    )
    output, _ = await control_plane.communicate()
    assert control_plane.returncode == 0
    started = json.loads(output)
    instance = Instance(**started["instance"])

    restarted = ProcessRuntime(logs_dir=logs_dir)
    try:
        assert await get(instance) == "v1 hi"
        assert (await restarted.status(instance)).state is InstanceState.RUNNING
        # The orphaned standby notices that its control plane is gone and leaves.
        standby = Path(f"/proc/{started['standby']}")
        deadline = time.monotonic() + 15
        while standby.exists() and "Z" not in (standby / "stat").read_text().rpartition(")")[2][:3]:
            assert time.monotonic() < deadline, "the orphaned standby is still running"
            await asyncio.sleep(0.05)
    finally:
        await restarted.stop(instance)
    assert (await restarted.status(instance)).state is InstanceState.EXITED


async def test_process_stop_kills_what_ignores_sigterm(processes: ProcessRuntime, tmp_path: Path) -> None:
    source = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('up', flush=True)\n"
    app_dir = write_app(tmp_path / "stubborn", source + "time.sleep(60)\n")
    instance = await processes.start(venv_spec(app_dir))
    await wait_for_text(Path(instance.log_path), "up")
    started = time.monotonic()
    await processes.stop(instance)
    assert 4.5 < time.monotonic() - started < 8
    assert not Path(f"/proc/{instance.handle}").exists()
    await processes.stop(instance)  # stopping again is not an error


# -- container runtime ------------------------------------------------------------------------------


def _engine_client() -> Any:
    from orchestrator.runtimes import engine

    url = engine.find_engine()
    return engine.connect(url) if url else None


def _build_image(client: Any, tag: str, files: dict[str, str]) -> str:
    """Build ``files`` (a Dockerfile and what it copies) as ``tag``; returns the image id."""
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    image, _ = client.images.build(
        fileobj=context, custom_context=True, tag=tag, network_mode="host", rm=True
    )
    return str(image.id)


@pytest.fixture(scope="module")
def test_image() -> Iterator[str]:
    client = _engine_client()
    if client is None:
        pytest.skip("no container engine answers")
    try:
        client.images.get(BASE_IMAGE)
    except Exception:
        pytest.skip(f"{BASE_IMAGE} is not built on this machine")
    tag = f"localhost/spaces/runtime-test:{uuid.uuid4().hex[:8]}"
    dockerfile = (
        f'FROM {BASE_IMAGE}\nCOPY --chown=1000:1000 app.py /home/user/app/app.py\nCMD ["python", "app.py"]\n'
    )
    _build_image(client, tag, {"Dockerfile": dockerfile, "app.py": APP.format(version="v1")})
    yield tag
    try:
        client.images.remove(tag, force=True)
    finally:
        client.close()


@pytest.fixture
async def containers(tmp_path: Path) -> AsyncIterator[ContainerRuntime]:
    runtime = ContainerRuntime(logs_dir=tmp_path / "logs")
    yield runtime
    await runtime.close()


def image_spec(image: str, app_dir: Path, **overrides: Any) -> LaunchSpec:
    artifact = Artifact(
        kind="image", reference=image, deps_reference=BASE_IMAGE, deps_key="deps-1", app_dir=str(app_dir)
    )
    values: dict[str, Any] = {
        "space_id": SPACE,
        "artifact": artifact,
        "app_file": "app.py",
        "env": {"GREETING": "hi"},
        "preload": ("json",),
        "labels": {"test": "runtimes"},
    }
    return LaunchSpec(**{**values, **overrides})


@pytest.mark.container
async def test_container_cold_then_standby(
    containers: ContainerRuntime, test_image: str, tmp_path: Path
) -> None:
    v1 = write_app(tmp_path / "v1", APP.format(version="v1"))
    started = time.monotonic()
    cold = await containers.start(image_spec(test_image, v1))
    try:
        assert await get(cold) == "v1 hi"
        cold_seconds = time.monotonic() - started
        await wait_for_text(Path(cold.log_path), "listening on 7860")

        v2 = write_app(tmp_path / "v2", APP.format(version="v2"))
        (v2 / "data").mkdir()
        (v2 / "data" / "notes.txt").write_text("nested")
        v2_spec = image_spec(test_image, v2, env={"GREETING": "hello"})
        await containers.prepare_standby(v2_spec)
        standby = containers._standbys[SPACE].instance
        await wait_for_text(Path(standby.log_path), "waiting for the app", timeout=30)

        started = time.monotonic()
        warm = await containers.start(v2_spec)
        assert warm.instance_id == standby.instance_id
        assert await get(warm) == "v2 hello"
        warm_seconds = time.monotonic() - started
        try:
            client = _engine_client()
            container = client.containers.get(warm.handle)
            assert container.labels["spaces.space"] == SPACE and container.labels["test"] == "runtimes"
            result = container.exec_run(["sh", "-c", "id -u; stat -c %u written.txt data/notes.txt; pwd"])
            assert result.output.decode().split() == ["1000", "1000", "1000", "/home/user/app"]
            client.close()
            assert (await containers.status(warm)).state is InstanceState.RUNNING
        finally:
            await containers.stop(warm)
        print(f"container cold {cold_seconds:.2f}s, standby {warm_seconds:.2f}s")
    finally:
        await containers.stop(cold)
    assert (await containers.status(cold)).state is InstanceState.MISSING


@pytest.mark.container
async def test_container_standby_of_a_rebuilt_dependencies_image_is_not_used(
    containers: ContainerRuntime, test_image: str, tmp_path: Path
) -> None:
    """A factory reboot rebuilds the dependencies image under the same tag: the app must run on the new
    build, not in the standby started from the old one."""
    client = _engine_client()
    deps = f"localhost/spaces/runtime-test-deps:{uuid.uuid4().hex[:8]}"
    first = _build_image(client, deps, {"Dockerfile": f"FROM {BASE_IMAGE}\nLABEL build=1\n"})
    app = write_app(tmp_path / "app", APP.format(version="v1"))
    spec = image_spec(test_image, app)
    spec = replace(spec, artifact=replace(spec.artifact, deps_reference=deps))
    try:
        await containers.prepare_standby(spec)
        standby = containers._standbys[SPACE].instance
        await wait_for_text(Path(standby.log_path), "waiting for the app", timeout=30)
        assert _build_image(client, deps, {"Dockerfile": f"FROM {BASE_IMAGE}\nLABEL build=2\n"}) != first

        instance = await containers.start(spec)
        try:
            assert await get(instance) == "v1 hi"
            assert instance.instance_id != standby.instance_id  # a cold start from the app image
            assert (await containers.status(standby)).state is InstanceState.MISSING
        finally:
            await containers.stop(instance)
    finally:
        client.images.remove(deps, force=True)
        client.close()


@pytest.mark.container
async def test_container_crash_and_restart(
    containers: ContainerRuntime, test_image: str, tmp_path: Path
) -> None:
    bad = write_app(tmp_path / "bad", CRASHING_APP)
    spec = image_spec(test_image, bad, command=("python", "-c", CRASHING_APP))
    instance = await containers.start(spec)
    try:
        assert await wait_exited(containers, instance) == 1
        log = await wait_for_text(Path(instance.log_path), "RuntimeError: boom from the app")
        assert "about to fail" in log and "Traceback" in log

        restarted = ContainerRuntime(logs_dir=containers.logs_dir)
        status = await restarted.status(Instance(**instance.__dict__))
        assert (status.state, status.exit_code) == (InstanceState.EXITED, 1)
        await restarted.close()
    finally:
        await containers.stop(instance)
    await containers.stop(instance)  # stopping again is not an error


@pytest.mark.container
async def test_container_crash_from_standby(
    containers: ContainerRuntime, test_image: str, tmp_path: Path
) -> None:
    bad = write_app(tmp_path / "bad", CRASHING_APP)
    await containers.prepare_standby(image_spec(test_image, bad))
    instance = await containers.start(image_spec(test_image, bad))
    try:
        assert await wait_exited(containers, instance) == 1
        log = await wait_for_text(Path(instance.log_path), "RuntimeError: boom from the app")
        assert "launcher.py" not in log.split("about to fail", 1)[1]
    finally:
        await containers.stop(instance)


@pytest.mark.container
async def test_container_spare_wakes_a_space(
    containers: ContainerRuntime, test_image: str, tmp_path: Path
) -> None:
    v1 = write_app(tmp_path / "v1", APP.format(version="v1"))
    spec = image_spec(test_image, v1, env={"GREETING": "hi", "TOKEN": "secret"}, sdk_env={"SDK": "1"})
    await containers.keep_spares([spec], 1)
    (spare,) = containers._spares.all()
    client = _engine_client()
    try:
        container = client.containers.get(spare.instance.handle)
        assert container.labels["spaces.spare"] == "1" and "spaces.space" not in container.labels
        assert "SDK=1" in container.attrs["Config"]["Env"]
        assert not [v for v in container.attrs["Config"]["Env"] if "secret" in v or "GREETING" in v]

        instance = await containers.start(spec)
        try:
            assert (instance.handle, instance.space_id) == (spare.instance.handle, SPACE)
            assert await get(instance) == "v1 hi"
            log = await wait_for_text(Path(instance.log_path), "listening on 7860", timeout=30)
            assert "woken from a spare with json imported" in log
            assert len(containers._spares) == 0
        finally:
            await containers.stop(instance)

        await containers.keep_spares([spec], 1)
        (again,) = containers._spares.all()
        await containers.keep_spares([], 0)
        assert (await containers.status(again.instance)).state is InstanceState.MISSING
    finally:
        client.close()


def test_container_available_is_false_for_a_dead_socket(tmp_path: Path) -> None:
    assert not ContainerRuntime.available(f"unix://{tmp_path}/nothing.sock")
