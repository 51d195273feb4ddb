"""Run Spaces as containers through the Docker Engine API (Docker, or Podman's compatible socket).

Owns the container runtime: creating a container per instance from the Space's image with its
environment, labels and a localhost port, following its output into the log file, observing and
removing it by container id (which survives control-plane restarts), and warm standbys: a container
of the dependencies image running ``launcher.py standby`` that receives the app files and a start
file through ``put_archive`` (only while the dependencies image is the build it started from). Spares
are the same containers started for no Space (labelled ``spaces.spare``, with only the SDK's
environment) and handed to whichever Space of their dependencies starts next. Every blocking SDK call
runs in ``asyncio.to_thread``. It knows nothing of builds, health checks or routing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from docker.errors import DockerException, NotFound

from orchestrator.errors import RuntimeBackendError
from orchestrator.naming import container_name
from orchestrator.runtimes import archives, engine
from orchestrator.runtimes.base import Instance, InstanceState, InstanceStatus, LaunchSpec, Runtime
from orchestrator.runtimes.containerconfig import (
    APP_DIR,
    SPARE_LABEL,
    START_DIR,
    START_FILE,
    container_env,
    container_labels,
    spare_key,
    spare_labels,
    standby_command,
)
from orchestrator.runtimes.logfollow import LogFollowers
from orchestrator.runtimes.spares import Spares, neutral_spec

log = logging.getLogger(__name__)

LAUNCHER = Path(__file__).with_name("launcher.py")
STOP_TIMEOUT_SECONDS = 5
_RUNNING_STATES = {"created", "running", "restarting", "paused", "configured", "initialized"}


@dataclass
class _Standby:
    instance: Instance
    deps_reference: str
    env: dict[str, str]


def _image_id(image: object) -> str:
    """An image id as the engine gave it, without the ``sha256:`` some engines put in front."""
    return str(image).removeprefix("sha256:")


class ContainerRuntime(Runtime):
    """Spaces as containers; ``Artifact.reference`` is the app image, ``deps_reference`` its base."""

    name = "container"

    def __init__(self, *, logs_dir: Path, base_url: str | None = None) -> None:
        super().__init__(logs_dir=logs_dir)
        self._base_url = base_url or None
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._standbys: dict[str, _Standby] = {}
        self._spares: Spares[_Standby] = Spares(spare_key)
        self._spares_swept = False
        self._followers = LogFollowers(self._client_or_connect)

    @staticmethod
    def available(base_url: str | None = None) -> bool:
        """Whether a container engine answers (at ``base_url``, ``DOCKER_HOST`` or a usual socket)."""
        return engine.find_engine(base_url) is not None

    # -- starting ---------------------------------------------------------------------------------

    async def start(self, spec: LaunchSpec) -> Instance:
        self._check_kind(spec)
        standby = self._standbys.pop(spec.space_id, None)
        if standby is not None:
            if self._standby_fits(standby, spec):
                try:
                    await asyncio.to_thread(self._hand_over, standby, spec)
                    return standby.instance
                except RuntimeBackendError:
                    pass  # the standby died or refused the files: start cold instead
            await self.stop(standby.instance)
        spare = self._spares.take(spec)
        if spare is not None:
            try:
                return await asyncio.to_thread(self._adopt, spare, spec)
            except RuntimeBackendError:
                await self.stop(spare.instance)  # it died or refused the files: start cold instead
        instance_id = uuid.uuid4().hex[:12]
        return await asyncio.to_thread(
            self._create,
            spec,
            image=spec.artifact.reference,
            command=list(spec.command) or None,
            instance_id=instance_id,
        )

    async def prepare_standby(self, spec: LaunchSpec) -> None:
        self._check_kind(spec)
        if spec.command or not spec.artifact.deps_reference:
            return  # a custom command is not a Python app the launcher can hand over to
        current = self._standbys.get(spec.space_id)
        if (
            current is not None
            and self._standby_fits(current, spec)
            and (await self.status(current.instance)).state is InstanceState.RUNNING
        ):
            return
        await self.discard_standby(spec.space_id)
        await asyncio.to_thread(self._remove_stale, [f"spaces.space={spec.space_id}", "spaces.standby=1"])
        self._standbys[spec.space_id] = await asyncio.to_thread(self._start_standby, spec, "standby")

    def spare_count(self) -> int:
        return len(self._spares)

    async def keep_spares(self, specs: Sequence[LaunchSpec], limit: int) -> None:
        if not self._spares_swept:
            self._spares_swept = True
            await asyncio.to_thread(self._remove_stale, [f"{SPARE_LABEL}=1"])
        if not specs and not len(self._spares):
            return
        alive = set(await asyncio.to_thread(self._running_spares))
        to_start, to_stop = self._spares.plan(specs, limit, lambda spare: spare.instance.handle in alive)
        for spare in to_stop:
            await self.stop(spare.instance)
        for spec in to_start:
            try:
                self._spares.add(spec, await asyncio.to_thread(self._start_standby, spec, "spare"))
            except RuntimeBackendError as error:  # its Space then wakes with a cold start
                log.warning("could not start a spare for %s: %s", spec.space_id, error)

    def _start_standby(self, spec: LaunchSpec, kind: Literal["standby", "spare"]) -> _Standby:
        """A container of ``spec``'s dependencies image running the launcher's standby, for its Space or,
        as a spare, for none (started from ``neutral_spec``)."""
        launched = neutral_spec(spec) if kind == "spare" else spec
        instance_id = uuid.uuid4().hex[:12]
        instance = self._create(
            launched,
            image=spec.artifact.deps_reference,
            command=standby_command(spec, instance_id),
            instance_id=instance_id,
            kind=kind,
        )
        return _Standby(instance, spec.artifact.deps_reference, container_env(launched))

    async def discard_standby(self, space_id: str) -> None:
        standby = self._standbys.pop(space_id, None)
        if standby is not None:
            await self.stop(standby.instance)

    async def forget_space(self, space_id: str) -> None:
        await self.discard_standby(space_id)
        await asyncio.to_thread(self._remove_all_of, space_id)

    def _remove_all_of(self, space_id: str) -> None:
        labels = ["spaces.orchestrator=1", f"spaces.space={space_id}"]
        for container in self._client_or_connect().containers.list(all=True, filters={"label": labels}):
            with contextlib.suppress(DockerException):
                container.remove(force=True)

    async def close(self) -> None:
        for space_id in list(self._standbys):
            await self.discard_standby(space_id)
        for spare in self._spares.all():
            await self.stop(spare.instance)
        if self._client is not None:
            await asyncio.to_thread(self._client.close)
            self._client = None

    # -- observing and stopping -------------------------------------------------------------------

    async def status(self, instance: Instance) -> InstanceStatus:
        return await asyncio.to_thread(self._status, instance)

    async def stop(self, instance: Instance) -> None:
        await asyncio.to_thread(self._remove, instance.handle)

    async def freeze(self, instance: Instance) -> bool:
        """The engine's pause (the cgroup freezer): memory stays, no CPU is used."""
        return await asyncio.to_thread(self._pause, instance.handle)

    async def thaw(self, instance: Instance) -> None:
        await asyncio.to_thread(self._unpause, instance.handle)

    # -- blocking work, run in threads ------------------------------------------------------------

    def _client_or_connect(self) -> Any:
        with self._client_lock:
            if self._client is None:
                url = engine.find_engine(self._base_url)
                if url is None:
                    tried = ", ".join(engine.candidate_urls(self._base_url))
                    raise RuntimeBackendError(f"No container engine answers (tried {tried}).")
                try:
                    self._client = engine.connect(url)
                except (DockerException, OSError) as error:
                    raise RuntimeBackendError(
                        f"Cannot connect to the container engine at {url}: {error}"
                    ) from error
            return self._client

    def _create(
        self,
        spec: LaunchSpec,
        *,
        image: str,
        command: list[str] | None,
        instance_id: str,
        kind: Literal["instance", "standby", "spare"] = "instance",
    ) -> Instance:
        """Create and start a container; a spare belongs to no Space and is not followed until it has one."""
        owner, _, name = spec.space_id.partition("/")
        port_key = f"{spec.container_port}/tcp"
        if kind == "spare":
            container_id_name = f"spaces-spare-{instance_id}"
            labels = spare_labels(instance_id)
            log_path: Path | None = None
        else:
            container_id_name = container_name(owner, name, instance_id)
            labels = container_labels(spec, instance_id, standby=kind == "standby")
            log_path = self.log_path(spec.space_id, instance_id)
        client = self._client_or_connect()
        container: Any = None
        try:
            container = client.containers.create(
                image,
                command=command,
                name=container_id_name,
                environment=container_env(spec),
                labels=labels,
                user=spec.user,
                init=True,  # signals reach the app and its children are reaped (it is not pid 1)
                ports={port_key: ("127.0.0.1", None)},
                detach=True,
            )
            if kind != "instance":
                launcher = {"spaces/launcher.py": LAUNCHER.read_bytes()}
                container.put_archive("/opt", archives.files_archive(launcher, uid=0))
            container.start()
            container.reload()
            host_port = int(container.attrs["NetworkSettings"]["Ports"][port_key][0]["HostPort"])
        except (DockerException, OSError, KeyError, IndexError, TypeError, ValueError) as error:
            if container is not None:
                with contextlib.suppress(RuntimeBackendError):
                    self._remove(str(container.id))
            raise RuntimeBackendError(
                f"The container engine could not start {spec.space_id or 'a spare'}: {error}"
            ) from error
        if log_path is not None:
            self._followers.follow(container.id, log_path)
        return Instance(
            instance_id=instance_id,
            space_id=spec.space_id,
            handle=str(container.id),
            host="127.0.0.1",
            port=host_port,
            log_path=str(log_path or ""),
            deps_key=spec.artifact.deps_key,
        )

    def _adopt(self, spare: _Standby, spec: LaunchSpec) -> Instance:
        """Hand the app to a spare, which from then on is an instance of ``spec``'s Space."""
        self._hand_over(spare, spec)
        log_path = self.log_path(spec.space_id, spare.instance.instance_id)
        self._followers.follow(spare.instance.handle, log_path)
        return replace(spare.instance, space_id=spec.space_id, log_path=str(log_path))

    def _hand_over(self, standby: _Standby, spec: LaunchSpec) -> None:
        """Copy the app into the standby, then the start file that makes it run the app."""
        env = container_env(spec)
        request = {
            "app_dir": APP_DIR,
            "app_file": spec.app_file,
            "env": env,
            "unset": sorted(set(standby.env) - set(env)),
            "module": spec.module,
            "argv": list(spec.module_args),
            "spare": not standby.instance.space_id,
            "requested_at": time.time(),
        }
        app = archives.folder_archive(Path(spec.artifact.app_dir))
        start = archives.files_archive({Path(START_FILE).name: json.dumps(request).encode()})
        try:
            client = self._client_or_connect()
            container = client.containers.get(standby.instance.handle)
            if container.status != "running":
                raise RuntimeBackendError(f"The standby of {spec.space_id} is {container.status}.")
            built = client.images.get(standby.deps_reference).id
            if _image_id(container.attrs.get("Image")) != _image_id(built):
                # A rebuild without cache (a factory reboot) tagged a new dependencies image since.
                raise RuntimeBackendError(f"The standby of {spec.space_id} runs an older build of its image.")
            delivered = container.put_archive(APP_DIR, app) and container.put_archive(START_DIR, start)
            if not delivered:
                raise RuntimeBackendError(f"The standby of {spec.space_id} refused the app files.")
        except (DockerException, OSError) as error:
            raise RuntimeBackendError(f"Could not hand {spec.space_id} to its standby: {error}") from error

    def _status(self, instance: Instance) -> InstanceStatus:
        try:
            container = self._client_or_connect().containers.get(instance.handle)
        except NotFound:
            return InstanceStatus(InstanceState.MISSING)
        except (DockerException, OSError) as error:
            raise RuntimeBackendError(f"The container engine did not answer: {error}") from error
        # After a control-plane restart nobody follows this container's output yet.
        self._followers.follow(container.id, Path(instance.log_path), resume=True)
        state = container.attrs.get("State", {})
        if str(state.get("Status", container.status)) in _RUNNING_STATES:
            return InstanceStatus(InstanceState.RUNNING)
        code = state.get("ExitCode")
        return InstanceStatus(InstanceState.EXITED, int(code) if code is not None else None)

    def _pause(self, handle: str) -> bool:
        try:
            container = self._client_or_connect().containers.get(handle)
            if container.status == "paused":
                return True
            container.pause()
        except (DockerException, OSError):
            return False
        return True

    def _unpause(self, handle: str) -> None:
        try:
            container = self._client_or_connect().containers.get(handle)
            if container.status == "paused":
                container.unpause()
        except NotFound:
            return
        except (DockerException, OSError) as error:
            raise RuntimeBackendError(
                f"The container engine could not resume {handle[:12]}: {error}"
            ) from error

    def _remove(self, handle: str) -> None:
        try:
            container = self._client_or_connect().containers.get(handle)
            if container.status == "paused":
                container.unpause()  # a paused container does not stop
            if container.status in _RUNNING_STATES:
                container.stop(timeout=STOP_TIMEOUT_SECONDS)
            container.remove(force=True)
        except NotFound:
            return
        except (DockerException, OSError) as error:
            raise RuntimeBackendError(
                f"The container engine could not remove {handle[:12]}: {error}"
            ) from error

    def _remove_stale(self, labels: list[str]) -> None:
        """Remove unused standbys or spares (those with ``labels``) left by an earlier control plane.

        One that received its start file became an instance and is left alone.
        """
        ours = {standby.instance.handle for standby in [*self._standbys.values(), *self._spares.all()]}
        try:
            containers = self._client_or_connect().containers.list(
                all=True, filters={"label": ["spaces.orchestrator=1", *labels]}
            )
            for container in containers:
                if container.id in ours:
                    continue
                try:
                    container.get_archive(START_FILE)
                except NotFound:
                    container.remove(force=True)
        except (DockerException, OSError, RuntimeBackendError):
            return  # best effort: a leftover standby only costs memory

    def _running_spares(self) -> list[str]:
        """Ids of the running spare containers."""
        try:
            containers = self._client_or_connect().containers.list(
                filters={"label": ["spaces.orchestrator=1", f"{SPARE_LABEL}=1"], "status": "running"}
            )
        except (DockerException, OSError, RuntimeBackendError):
            return [spare.instance.handle for spare in self._spares.all()]  # cannot tell: keep them
        return [str(container.id) for container in containers]

    # -- helpers ----------------------------------------------------------------------------------

    def _check_kind(self, spec: LaunchSpec) -> None:
        if spec.artifact.kind != "image":
            raise RuntimeBackendError(
                f"The container runtime runs images, not {spec.artifact.kind!r} artifacts."
            )

    @staticmethod
    def _standby_fits(standby: _Standby, spec: LaunchSpec) -> bool:
        return (
            standby.instance.deps_key == spec.artifact.deps_key
            and standby.deps_reference == spec.artifact.deps_reference
        )
