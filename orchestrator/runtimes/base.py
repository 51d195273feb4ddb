"""The interface every runtime implements: start, observe and stop one instance of a Space.

A runtime knows nothing of stages, builds or the database. The reconciler hands it a ``LaunchSpec``
(what to run) and keeps the returned ``Instance`` (where it runs); health checks over HTTP, routing
and stage changes are the reconciler's job.

Warm standbys: importing an SDK such as gradio takes seconds. ``prepare_standby`` starts an
interpreter for a Space with its environment, its port and its SDK already imported, waiting for the
app files. The next ``start`` of that Space with the same dependencies (``Artifact.deps_key``) hands the
app to the standby instead of starting from nothing. A runtime may ignore standbys entirely.

Spares: a Space stopped for sleep has neither an instance nor a standby. ``keep_spares`` keeps warm
interpreters that belong to no Space, one per dependency set of the sleeping Spaces (see ``spares``);
``start`` takes one when the Space has no standby of its own. A runtime may ignore spares entirely.

Sleep: ``freeze`` suspends an idle instance with its memory kept and ``thaw`` resumes it (signals for
processes, the engine's pause for containers); a runtime that cannot freeze says so and its idle
Spaces are stopped instead.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Artifact:
    """What a build produced for one commit, enough for a runtime to start it.

    ``reference`` is the runnable thing (a virtual environment folder for processes, an image for
    containers); ``deps_reference`` the same without the app files (a standby can be started from it);
    ``deps_key`` names the dependency set, equal across commits that changed only app files.
    ``app_dir`` is the commit's files on the control plane's disk.
    """

    kind: str
    reference: str
    deps_reference: str
    deps_key: str
    app_dir: str


@dataclass(frozen=True)
class LaunchSpec:
    """Everything needed to start one instance of a Space."""

    space_id: str
    artifact: Artifact
    app_file: str
    env: dict[str, str]
    preload: tuple[str, ...] = ()
    container_port: int = 7860
    command: tuple[str, ...] = ()
    """Command for a direct start; empty means ``python <app_file>`` through the launcher."""
    labels: dict[str, str] = field(default_factory=dict)
    module: str | None = None
    """Start ``python -m module *module_args`` (through the launcher) instead of ``python <app_file>``."""
    module_args: tuple[str, ...] = ()
    user: str | None = "1000"
    """User to run a container as; None runs it as the user its image names (docker Spaces)."""
    sdk_env: dict[str, str] = field(default_factory=dict)
    """The part of ``env`` every Space of the SDK gets (no Space's variables or secrets): what a spare
    shared between Spaces is started with."""


@dataclass(frozen=True)
class Instance:
    """One started instance: where it answers and where its output goes."""

    instance_id: str
    space_id: str
    handle: str
    """Runtime-specific: a process id or a container id."""
    host: str
    port: int
    log_path: str
    deps_key: str = ""

    @property
    def upstream(self) -> str:
        return f"{self.host}:{self.port}"


class InstanceState(enum.Enum):
    RUNNING = "running"
    """The process or container is alive (it may not answer HTTP yet)."""
    EXITED = "exited"
    """It ended; ``exit_code`` says how."""
    MISSING = "missing"
    """The runtime has no trace of it (removed, or the machine restarted)."""


@dataclass(frozen=True)
class InstanceStatus:
    state: InstanceState
    exit_code: int | None = None


class Runtime(abc.ABC):
    """A place Spaces run: local processes, a container engine, a cluster."""

    name: str = ""

    def __init__(self, *, logs_dir: Path) -> None:
        self.logs_dir = logs_dir

    def log_path(self, space_id: str, instance_id: str) -> Path:
        owner, _, name = space_id.partition("/")
        path = self.logs_dir / owner / name / f"run-{instance_id}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    @abc.abstractmethod
    async def start(self, spec: LaunchSpec) -> Instance:
        """Start an instance (from a matching standby if there is one) and return at once.

        Raises ``RuntimeBackendError`` when the backend refuses.
        """

    @abc.abstractmethod
    async def status(self, instance: Instance) -> InstanceStatus:
        """Observe an instance, including one started before the control plane restarted."""

    @abc.abstractmethod
    async def stop(self, instance: Instance) -> None:
        """Stop and remove an instance; stopping one that is gone is not an error."""

    async def freeze(self, instance: Instance) -> bool:
        """Suspend a running instance with its memory kept, so that ``thaw`` resumes it in milliseconds
        (optional). ``False``: this runtime cannot, and a sleeping Space is stopped instead."""
        return False

    async def thaw(self, instance: Instance) -> None:  # noqa: B027 - optional capability
        """Resume a frozen instance; thawing one that is not frozen (or is gone) is not an error."""

    async def prepare_standby(self, spec: LaunchSpec) -> None:  # noqa: B027 - optional capability
        """Start a warm standby for the next version of ``spec.space_id`` (optional)."""

    async def discard_standby(self, space_id: str) -> None:  # noqa: B027 - optional capability
        """Stop the standby of a Space, if any (optional)."""

    async def keep_spares(self, specs: Sequence[LaunchSpec], limit: int) -> None:  # noqa: B027 - optional
        """Keep one spare for each of the ``limit`` dependency sets most of ``specs`` share, and no other
        (optional). ``start`` hands a spare to a Space of its dependency set that has no standby."""

    def spare_count(self) -> int:
        """How many spares ``keep_spares`` keeps now (for ``/metrics``)."""
        return 0

    async def forget_space(self, space_id: str) -> None:
        """Remove every trace of a deleted Space: its standby and anything an earlier run left behind."""
        await self.discard_standby(space_id)

    async def close(self) -> None:  # noqa: B027 - optional capability
        """Release clients; instances keep running."""
