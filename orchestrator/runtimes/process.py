"""Run Spaces as local processes, each in its own virtual environment and session.

Owns the process runtime: choosing a port, building an instance's environment, starting
``launcher.py`` (cold, or as a warm standby or spare that receives the app later), observing pids across
control-plane restarts and stopping process groups. Instances run in a new session with their output
going straight to the log file, so they outlive the control plane; children this process started are
reaped by a waiter thread. It knows nothing of builds, health checks or routing.

A standby or spare is handed an app only while its environment is still the one it was started from: a
rebuild without cache (a factory reboot) deletes the environment's folder and builds it again under the
same name, and an interpreter that was importing its SDK meanwhile is left with half-imported modules
(the app then dies on ``module 'gradio' has no attribute 'blocks'``). ``pyvenv.cfg`` tells the builds
apart; a standby of an older build is stopped and the app starts cold.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from orchestrator.errors import RuntimeBackendError
from orchestrator.runtimes import procfs
from orchestrator.runtimes.base import Instance, InstanceState, InstanceStatus, LaunchSpec, Runtime
from orchestrator.runtimes.spares import SPARES_FOLDER, Spares, neutral_spec

log = logging.getLogger(__name__)

LAUNCHER = Path(__file__).with_name("launcher.py")
STOP_GRACE_SECONDS = 5.0
_INHERITED = ("HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SSL_CERT_FILE")
"""The only control-plane variables an app sees; the rest (database URLs, tokens) stay private."""


def free_port() -> int:
    """A localhost port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def reserve_port() -> socket.socket:
    """A socket bound, with ``SO_REUSEADDR`` and without listening, to a free localhost port.

    While it is open the kernel gives that port to nobody else: neither ``bind`` to port 0 nor the
    source port of an outgoing connection, which a port from ``free_port`` may become in the seconds an
    app takes to import its SDK (Gradio then silently listens on the next port, 7861-style, while the
    readiness check waits on this one). Servers that set ``SO_REUSEADDR`` themselves (uvicorn, tornado,
    ``http.server``) still bind and listen on it.
    """
    reservation = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        reservation.bind(("127.0.0.1", 0))
    except OSError:
        reservation.close()
        raise
    return reservation


def instance_env(spec: LaunchSpec, *, venv: Path, port: int, instance_id: str) -> dict[str, str]:
    """The complete environment of one instance: the Space's variables plus what the runtime decides."""
    env = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    env.update(spec.env)
    path = spec.env.get("PATH") or os.environ.get("PATH") or os.defpath
    env.update(
        {
            "PATH": f"{venv / 'bin'}{os.pathsep}{path}",
            "VIRTUAL_ENV": str(venv),
            "GRADIO_SERVER_NAME": "127.0.0.1",
            "GRADIO_SERVER_PORT": str(port),
            "STREAMLIT_SERVER_ADDRESS": "127.0.0.1",
            "STREAMLIT_SERVER_PORT": str(port),
            "PORT": str(port),
            "PYTHONUNBUFFERED": "1",
            "SPACES_INSTANCE_ID": instance_id,
        }
    )
    return env


def new_instance_id() -> str:
    return uuid.uuid4().hex[:12]


_EXIT_COLLECT_SECONDS = 5.0
"""How long ``status`` waits for a child that /proc says has ended to be collected."""


EnvBuild = tuple[int, int, int]
"""Device, inode and modification time (ns) of an environment's ``pyvenv.cfg``: one build of it."""


def env_build(venv: Path) -> EnvBuild | None:
    """Which build of the environment at ``venv`` is on disk now (``None``: no ``pyvenv.cfg`` there).

    A rebuild in place writes a new ``pyvenv.cfg``; its inode number may be the old one's, freed a
    moment before, but not its modification time as well.
    """
    try:
        info = (venv / "pyvenv.cfg").stat()
    except OSError:
        return None
    return (info.st_dev, info.st_ino, info.st_mtime_ns)


@dataclass
class _Standby:
    instance: Instance
    process: subprocess.Popen[bytes]
    reference: str
    env: dict[str, str]
    start_file: Path
    env_build: EnvBuild | None
    """The build of the environment it was started from, read before it started."""


class ProcessRuntime(Runtime):
    """Spaces as local processes; ``Artifact.reference`` is a virtual environment folder."""

    name = "process"

    def __init__(self, *, logs_dir: Path) -> None:
        super().__init__(logs_dir=logs_dir)
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._standbys: dict[str, _Standby] = {}
        self._spares: Spares[_Standby] = Spares(_spare_key)
        self._ports: dict[str, socket.socket] = {}
        """Port reservations of the instances this runtime started (by instance id), held until stop."""

    # -- starting ---------------------------------------------------------------------------------

    async def start(self, spec: LaunchSpec) -> Instance:
        venv = self._venv(spec)
        standby = await self._take_standby(spec) or await self._take_spare(spec)
        if standby is not None:
            # The port is chosen now, not when the standby started: nothing held it while it waited (for
            # minutes or days), and another program may listen on it by now. It is reserved until the
            # instance stops, so that nothing takes it before the app listens.
            instance = replace(standby.instance, port=self._reserve(standby.instance.instance_id))
            env = instance_env(spec, venv=venv, port=instance.port, instance_id=instance.instance_id)
            request: dict[str, object] = {
                "app_dir": str(Path(spec.artifact.app_dir).resolve()),
                "app_file": spec.app_file,
                "env": env,
                "unset": sorted(set(standby.env) - set(env)),
                "module": spec.module,
                "argv": list(spec.module_args),
            }
            if not instance.space_id:  # a spare: from now on it writes to the Space's log
                log_path = self.log_path(spec.space_id, instance.instance_id)
                log_path.touch()
                instance = replace(instance, space_id=spec.space_id, log_path=str(log_path))
                request.update(
                    spare=True,
                    requested_at=time.time(),
                    log_file=str(log_path),
                    exit_file=str(_exit_file(log_path)),
                )
            try:
                _write_atomically(standby.start_file, json.dumps(request))
            except BaseException:
                self._release(instance.instance_id)
                raise
            return instance

        mode = ["run", spec.app_file] if spec.module is None else ["module", spec.module, *spec.module_args]
        instance_id = new_instance_id()
        # A custom command's server may not set SO_REUSEADDR, and could not bind a reserved port.
        port = None if spec.command else self._reserve(instance_id)
        try:
            instance, _process = self._launch(
                spec, venv, mode=mode, cwd=Path(spec.artifact.app_dir), instance_id=instance_id, port=port
            )
        except BaseException:
            self._release(instance_id)
            raise
        return instance

    async def prepare_standby(self, spec: LaunchSpec) -> None:
        if spec.command:
            return  # a custom command is not a Python app the launcher can hand over to
        venv = self._venv(spec)
        current = self._standbys.get(spec.space_id)
        if current is not None and self._standby_fits(current, spec):
            return
        await self.discard_standby(spec.space_id)

        instance_id = new_instance_id()
        start_file = self.log_path(spec.space_id, instance_id).with_name(f"run-{instance_id}.start.json")
        start_file.unlink(missing_ok=True)
        self._standbys[spec.space_id] = self._launch_standby(spec, venv, instance_id, start_file)

    def spare_count(self) -> int:
        return len(self._spares)

    async def keep_spares(self, specs: Sequence[LaunchSpec], limit: int) -> None:
        to_start, to_stop = self._spares.plan(specs, limit, self._standby_usable)
        for spare in to_stop:
            await self.stop(spare.instance)
        for spec in to_start:
            try:
                self._spares.add(spec, self._launch_spare(spec))
            except RuntimeBackendError as error:  # its Space then wakes with a cold start
                log.warning("could not start a spare for %s: %s", spec.space_id, error)

    def _launch_spare(self, spec: LaunchSpec) -> _Standby:
        """A standby of ``spec``'s dependencies that belongs to no Space (``Instance.space_id`` empty)."""
        folder = self.logs_dir / SPARES_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        instance_id = new_instance_id()
        start_file = folder / f"run-{instance_id}.start.json"
        log_path = start_file.with_name(f"run-{instance_id}.log")
        return self._launch_standby(neutral_spec(spec), self._venv(spec), instance_id, start_file, log_path)

    def _launch_standby(
        self,
        spec: LaunchSpec,
        venv: Path,
        instance_id: str,
        start_file: Path,
        log_path: Path | None = None,
    ) -> _Standby:
        """Start the launcher with ``spec``'s preload imported, waiting for ``start_file`` to name an app."""
        mode = ["standby", str(start_file), "--preload", ",".join(spec.preload), "--parent", str(os.getpid())]
        built = env_build(venv)  # before the start: a rebuild from now on makes it stale, never the reverse
        instance, process = self._launch(
            spec, venv, mode=mode, cwd=start_file.parent, instance_id=instance_id, log_path=log_path
        )
        env = instance_env(spec, venv=venv, port=instance.port, instance_id=instance_id)
        return _Standby(instance, process, spec.artifact.reference, env, start_file, built)

    async def _take_spare(self, spec: LaunchSpec) -> _Standby | None:
        spare = self._spares.take(spec)
        if spare is not None and not self._standby_usable(spare):
            await self.stop(spare.instance)
            return None
        return spare

    def _launch(
        self,
        spec: LaunchSpec,
        venv: Path,
        *,
        mode: list[str],
        cwd: Path,
        instance_id: str | None = None,
        log_path: Path | None = None,
        port: int | None = None,
    ) -> tuple[Instance, subprocess.Popen[bytes]]:
        """Start the launcher (or the spec's own command) in ``mode`` on ``port`` (default: a free one),
        logging to a file."""
        instance_id = instance_id or new_instance_id()
        port = port or free_port()
        log_path = log_path or self.log_path(spec.space_id, instance_id)
        argv = list(spec.command) or [
            str(venv / "bin" / "python"),
            str(LAUNCHER),
            mode[0],
            "--exit-file",
            str(_exit_file(log_path)),
            f"--instance={instance_id}",
            *mode[1:],
        ]
        env = instance_env(spec, venv=venv, port=port, instance_id=instance_id)
        process = self._spawn(argv, env=env, cwd=cwd, log_path=log_path)
        self._children[instance_id] = process
        instance = Instance(
            instance_id=instance_id,
            space_id=spec.space_id,
            handle=str(process.pid),
            host="127.0.0.1",
            port=port,
            log_path=str(log_path),
            deps_key=spec.artifact.deps_key,
        )
        return instance, process

    async def discard_standby(self, space_id: str) -> None:
        standby = self._standbys.pop(space_id, None)
        if standby is not None:
            await self.stop(standby.instance)

    async def close(self) -> None:
        for space_id in list(self._standbys):
            await self.discard_standby(space_id)
        await self.keep_spares((), 0)
        for instance_id in list(self._ports):  # the instances go on; a restarted plane reserves no port
            self._release(instance_id)

    # -- observing and stopping -------------------------------------------------------------------

    async def status(self, instance: Instance) -> InstanceStatus:
        child = self._children.get(instance.instance_id)
        if child is not None:
            code = child.poll()
            if code is None and not procfs.is_instance(child.pid, instance.instance_id):
                # Ended (the reaper thread is collecting it), unless /proc misread a live child: then
                # the bounded wait times out and it counts as running, to be looked at again.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    code = await asyncio.to_thread(child.wait, _EXIT_COLLECT_SECONDS)
            if code is None:
                return InstanceStatus(InstanceState.RUNNING)
            return InstanceStatus(InstanceState.EXITED, _exit_status(code))
        if procfs.is_instance(_pid(instance), instance.instance_id):
            return InstanceStatus(InstanceState.RUNNING)
        exit_file = _exit_file(Path(instance.log_path))
        try:
            return InstanceStatus(InstanceState.EXITED, int(exit_file.read_text().strip()))
        except (OSError, ValueError):
            pass
        if Path(instance.log_path).exists():
            return InstanceStatus(InstanceState.EXITED)
        return InstanceStatus(InstanceState.MISSING)

    async def freeze(self, instance: Instance) -> bool:
        """SIGSTOP to the instance's process group (the app and every child it started)."""
        pid = _pid(instance)
        if not procfs.is_instance(pid, instance.instance_id):
            return False
        return procfs.signal_group(pid, signal.SIGSTOP)

    async def thaw(self, instance: Instance) -> None:
        pid = _pid(instance)
        if procfs.is_instance(pid, instance.instance_id):
            procfs.signal_group(pid, signal.SIGCONT)

    async def stop(self, instance: Instance) -> None:
        pid = _pid(instance)
        child = self._children.pop(instance.instance_id, None)

        # Signal only while the pid provably is this instance: once its process is reaped, the pid (and
        # with it the process group id) may belong to anyone (pid_max is often 32768).
        def alive() -> bool:
            if child is not None:
                return child.poll() is None
            return procfs.is_instance(pid, instance.instance_id)

        if alive():
            procfs.signal_group(pid, signal.SIGTERM)
            procfs.signal_group(pid, signal.SIGCONT)  # a frozen (sleeping) instance gets its SIGTERM too
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            while alive() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if alive():
                procfs.signal_group(pid, signal.SIGKILL)
        if child is not None:
            await asyncio.to_thread(child.wait)
        self._release(instance.instance_id)
        Path(instance.log_path).with_name(f"run-{instance.instance_id}.start.json").unlink(missing_ok=True)
        for suffix in (".start.json", ".log", ".exit"):  # a spare's own files, adopted by a Space or not
            (self.logs_dir / SPARES_FOLDER / f"run-{instance.instance_id}{suffix}").unlink(missing_ok=True)

    # -- helpers ----------------------------------------------------------------------------------

    def _reserve(self, instance_id: str) -> int:
        """A free localhost port for ``instance_id``'s app, held for it until the instance stops."""
        self._release(instance_id)
        try:
            reservation = reserve_port()
        except OSError as error:
            raise RuntimeBackendError(f"No free localhost port for the app: {error}") from error
        self._ports[instance_id] = reservation
        port: int = reservation.getsockname()[1]
        return port

    def _release(self, instance_id: str) -> None:
        reservation = self._ports.pop(instance_id, None)
        if reservation is not None:
            reservation.close()

    def _venv(self, spec: LaunchSpec) -> Path:
        if spec.artifact.kind != "venv":
            raise RuntimeBackendError(
                f"The process runtime runs virtual environments, not {spec.artifact.kind!r} artifacts."
            )
        venv = Path(spec.artifact.reference)
        if not (venv / "bin" / "python").exists():
            raise RuntimeBackendError(f"The environment of {spec.space_id} is missing ({venv}); rebuild it.")
        return venv

    def _standby_fits(self, standby: _Standby, spec: LaunchSpec) -> bool:
        return (
            standby.instance.deps_key == spec.artifact.deps_key
            and standby.reference == spec.artifact.reference
            and self._standby_usable(standby)
        )

    @staticmethod
    def _standby_usable(standby: _Standby) -> bool:
        """Alive, and its environment not rebuilt since it started (see the module's docstring)."""
        return standby.process.poll() is None and standby.env_build == env_build(Path(standby.reference))

    async def _take_standby(self, spec: LaunchSpec) -> _Standby | None:
        """Remove the Space's standby from the pool; return it when it can run ``spec``."""
        if spec.command:
            return None
        standby = self._standbys.pop(spec.space_id, None)
        if standby is None:
            return None
        if self._standby_fits(standby, spec):
            return standby
        await self.stop(standby.instance)
        return None

    def _spawn(
        self, argv: list[str], *, env: dict[str, str], cwd: Path, log_path: Path
    ) -> subprocess.Popen[bytes]:
        try:
            with log_path.open("ab") as log:
                process = subprocess.Popen(
                    argv,
                    cwd=cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    close_fds=True,
                )
        except OSError as error:
            raise RuntimeBackendError(f"Could not start {argv[0]}: {error}") from error
        # Reap the child as soon as it ends so no zombie is left; the exit code stays on ``process``.
        threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()
        return process


def _spare_key(spec: LaunchSpec) -> str | None:
    """Spares are shared by the Spaces of one environment and preload (a custom command takes none)."""
    if spec.command or spec.artifact.kind != "venv":
        return None
    return json.dumps([spec.artifact.reference, spec.artifact.deps_key, list(spec.preload)])


def _pid(instance: Instance) -> int:
    try:
        return int(instance.handle)
    except ValueError:
        return -1


def _exit_file(log_path: Path) -> Path:
    return log_path.with_suffix(".exit")


def _exit_status(code: int) -> int:
    """``Popen`` reports death by signal N as -N; report it the way shells and engines do."""
    return 128 - code if code < 0 else code


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
