"""The reconcile loop: make what runs match what was asked for, one Space at a time.

Desired state is the Space row (``desired_sha``, ``generation``, paused, asleep); observed state is the
build and instance rows plus what the runtime reports. ``reconcile_space`` is idempotent and runs in
numbered steps; every step records its result before the next one, so the control plane can be killed at
any point and picks up where it was on restart (``recover``). While a new version builds or starts, the
previous one keeps serving; traffic moves only once the new one answers HTTP. Building is ``builds``'
job, starting and stopping one instance ``instances``'; this module decides and records stages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.building.pipeline import BuildPipeline
from orchestrator.control.builds import Builds
from orchestrator.control.instances import Instances, StartError, instance_of, log_tail
from orchestrator.control.sleepstate import asleep_state, awake
from orchestrator.naming import subdomain
from orchestrator.proxy.routes import RouteTable
from orchestrator.runtimes.base import InstanceState, Runtime
from orchestrator.runtimes.static import STATIC_RUNTIME
from orchestrator.settings import Settings
from orchestrator.stages import Stage
from orchestrator.state.models import Build, Space, utcnow
from orchestrator.state.models import Instance as InstanceRow

log = logging.getLogger(__name__)


class Reconciler:
    """Runs ``reconcile_space`` for each Space whenever something pokes it, and watches running instances."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        runtime: Runtime,
        pipeline: BuildPipeline,
        routes: RouteTable,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.runtime = runtime
        self.pipeline = pipeline
        self.routes = routes
        self.clock = clock
        self.instances = Instances(settings=settings, sessions=sessions, runtime=runtime, clock=clock)
        self.builds = Builds(
            settings=settings, sessions=sessions, pipeline=pipeline, runtime_name=runtime.name
        )
        self._events: dict[str, asyncio.Event] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._monitor: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ----- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.recover()
        self._monitor = asyncio.create_task(self._watch_instances())

    async def close(self) -> None:
        """Stop reconciling; running Spaces keep running."""
        tasks = [*self._workers.values(), *self._background]
        if self._monitor:
            tasks.append(self._monitor)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.instances.close()

    def poke(self, space_pk: str) -> None:
        """Ask for ``space_pk`` to be reconciled soon (coalesces with a pending request).

        Safe to call from any thread: API handlers that run in the thread pool poke too.
        """
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not self._loop and self._loop is not None:
            self._loop.call_soon_threadsafe(self.poke, space_pk)
            return
        event = self._events.setdefault(space_pk, asyncio.Event())
        event.set()
        worker = self._workers.get(space_pk)
        if worker is None or worker.done():
            self._workers[space_pk] = asyncio.create_task(self._work(space_pk, event))

    async def idle(self, space_pk: str) -> None:
        """Wait until no reconcile is pending or running for ``space_pk`` (for tests and the CLI)."""
        worker = self._workers.get(space_pk)
        if worker:
            await asyncio.shield(worker)

    async def _work(self, space_pk: str, event: asyncio.Event) -> None:
        while event.is_set():
            event.clear()
            try:
                await self.reconcile_space(space_pk)
            except Exception:  # one Space's failure must not stop the loop for the others
                log.exception("reconciling %s failed", space_pk)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ----- recovery after a restart ----------------------------------------------------------------------

    async def recover(self) -> None:
        """Adopt instances that survived a restart, drop half-done work, then reconcile every Space."""
        with self.sessions() as session:
            for build in session.scalars(select(Build).where(Build.status == "running")):
                build.status = "interrupted"
                build.finished_at = utcnow()
            rows = list(
                session.scalars(
                    select(InstanceRow).where(InstanceRow.state.in_(("starting", "serving", "draining")))
                )
            )
            spaces = {s.id: s for s in session.scalars(select(Space))}
            for row in rows:
                status = await self.instances.status(row)
                space = spaces.get(row.space_id)
                if row.state == "serving" and status.state is InstanceState.RUNNING and space is not None:
                    self.routes.set(
                        subdomain(space.owner, space.name),
                        self.instances.route(session, row, space),
                    )
                    continue
                if status.state is InstanceState.RUNNING and row.runtime != STATIC_RUNTIME:
                    await self.runtime.stop(instance_of(row))
                # "lost", not "failed": it vanished with the machine or the engine, so it is started again.
                row.state = "stopped" if row.state != "serving" else "lost"
                row.exit_code = status.exit_code
                row.stopped_at = utcnow()
            session.commit()
            space_ids = list(spaces)
        for space_pk in space_ids:
            self.poke(space_pk)

    # ----- the reconcile steps ---------------------------------------------------------------------------

    async def reconcile_space(self, space_pk: str) -> None:
        # 1. Observe: is the serving instance still alive?
        with self.sessions() as session:
            space = session.get(Space, space_pk)
            if space is None:
                return
            serving = self._serving_row(session, space_pk)
            if serving is not None and not await self._alive(serving):
                self._fail_serving(session, space, serving)
                serving = None
            session.commit()
            desired, generation = space.desired_sha, space.generation
            paused = bool(space.settings.get("paused"))
            asleep = asleep_state(space.settings, desired, generation)

        # 2. Paused by its owner: nothing runs until a restart.
        if paused:
            await self.stop_space(space_pk)
            self._set_stage(space_pk, Stage.PAUSED, None, serving_sha=None, building_sha=None)
            return

        # 2b. Stopped for sleep by the idle controller: nothing runs until a request wakes it.
        if asleep == "stopped":
            await self.stop_space(space_pk)
            self._set_stage(space_pk, Stage.SLEEPING, None, serving_sha=None, building_sha=None)
            return

        # 3. Nothing pushed yet.
        if desired is None:
            self._set_stage(
                space_pk,
                Stage.NO_APP_FILE,
                "This Space has no commit yet: push a README.md and an app file to main.",
            )
            return

        # 4. Already serving what is wanted.
        if serving is not None and serving.sha == desired and serving.generation == generation:
            self._ensure_route(space_pk, serving)
            stage = Stage.SLEEPING if asleep == "frozen" else Stage.RUNNING
            self._set_stage(space_pk, stage, None, serving_sha=desired, building_sha=None)
            return

        # 5. A build of the wanted commit: reuse a finished one, stop at a failed one, or build now.
        build = await self.builds.ensure(space_pk, desired, generation, has_serving=serving is not None)
        if build is None or build.artifact is None:
            return
        if self._desired_changed(space_pk, desired, generation):
            return  # a newer push arrived while building; the pending poke handles it
        if self._already_failed(space_pk, desired, generation):
            return  # it crashed or never answered; a push or a restart request tries again

        # 6. Start the new version beside the old one and wait until it answers.
        self._set_stage(
            space_pk,
            Stage.RUNNING_APP_STARTING if serving else Stage.APP_STARTING,
            None,
            building_sha=desired,
        )
        try:
            new_row = await self.instances.start(space_pk, build, generation)
        except StartError as exc:
            self._set_stage(space_pk, Stage.RUNTIME_ERROR, str(exc), building_sha=None)
            return
        ready, message = await self.instances.wait_ready(
            new_row, float(build.plan.get("startup_timeout") or self.settings.startup_duration_timeout)
        )
        if not ready:
            await self.instances.stop(new_row.id, state="failed")
            self._set_stage(space_pk, Stage.RUNTIME_ERROR, message, building_sha=None)
            return

        # 7. Move traffic, drain the old version, keep a warm standby for the next push.
        self._promote(space_pk, new_row, old_row_id=serving.id if serving else None)
        if serving is not None:
            self._spawn(self._drain_and_stop(serving.id))
        if self.settings.warm_standby:
            self._spawn(self.instances.prepare_standby(space_pk, build))

    # ----- step helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _serving_row(session: Session, space_pk: str) -> InstanceRow | None:
        return session.scalars(
            select(InstanceRow).where(InstanceRow.space_id == space_pk, InstanceRow.state == "serving")
        ).first()

    async def _alive(self, row: InstanceRow) -> bool:
        status = await self.instances.status(row)
        row.exit_code = status.exit_code
        return status.state is InstanceState.RUNNING

    def _fail_serving(self, session: Session, space: Space, row: InstanceRow) -> None:
        row.state = "failed"
        row.stopped_at = utcnow()
        self.routes.remove(subdomain(space.owner, space.name))
        code = f" with exit code {row.exit_code}" if row.exit_code is not None else ""
        space.stage = Stage.RUNTIME_ERROR
        space.serving_sha = None
        space.error_message = f"The app stopped{code}. Last lines of its log:\n{log_tail(row.log_path)}"
        space.updated_at = utcnow()

    def _ensure_route(self, space_pk: str, row: InstanceRow) -> None:
        with self.sessions() as session:
            space = session.get(Space, space_pk)
            if space is None:
                return
            sub = subdomain(space.owner, space.name)
            route = self.instances.route(session, row, space)
        if self.routes.get(sub) != route:
            self.routes.set(sub, route)

    def _set_stage(self, space_pk: str, stage: Stage, message: str | None, **fields: object) -> None:
        with self.sessions() as session:
            space = session.get(Space, space_pk)
            if space is None:
                return
            space.stage = stage
            space.error_message = message
            for key, value in fields.items():
                setattr(space, key, value)
            space.updated_at = utcnow()
            session.commit()

    def _desired_changed(self, space_pk: str, sha: str, generation: int) -> bool:
        with self.sessions() as session:
            space = session.get(Space, space_pk)
            return space is None or space.desired_sha != sha or space.generation != generation

    @staticmethod
    def _failed_row(session: Session, space_pk: str, sha: str, generation: int) -> InstanceRow | None:
        return session.scalars(
            select(InstanceRow).where(
                InstanceRow.space_id == space_pk,
                InstanceRow.sha == sha,
                InstanceRow.generation == generation,
                InstanceRow.state == "failed",
            )
        ).first()

    def _already_failed(self, space_pk: str, sha: str, generation: int) -> bool:
        with self.sessions() as session:
            return self._failed_row(session, space_pk, sha, generation) is not None

    def _promote(self, space_pk: str, row: InstanceRow, *, old_row_id: str | None) -> None:
        with self.sessions() as session:
            space = session.get_one(Space, space_pk)
            new = session.get_one(InstanceRow, row.id)
            new.state = "serving"
            new.ready_at = utcnow()
            if old_row_id:
                old = session.get(InstanceRow, old_row_id)
                if old is not None:
                    old.state = "draining"
            self.routes.set(subdomain(space.owner, space.name), self.instances.route(session, new, space))
            space.settings = awake(space.settings)
            space.stage = Stage.RUNNING
            space.serving_sha = new.sha
            space.building_sha = None
            space.error_message = None
            space.updated_at = utcnow()
            session.commit()

    async def _drain_and_stop(self, row_id: str) -> None:
        await self.routes.wait_idle(row_id, self.settings.drain_seconds)
        await self.instances.stop(row_id, state="stopped")

    async def stop_space(self, space_pk: str) -> None:
        """Stop every instance and standby of a Space (pause, deletion); its route goes away."""
        with self.sessions() as session:
            rows = list(
                session.scalars(
                    select(InstanceRow).where(
                        InstanceRow.space_id == space_pk,
                        InstanceRow.state.in_(("starting", "serving", "draining")),
                    )
                )
            )
            space_id = None
            space = session.get(Space, space_pk)
            if space is not None:
                self.routes.remove(subdomain(space.owner, space.name))
                space_id = space.space_id
        for row in rows:
            await self.instances.stop(row.id, state="stopped")
        if space_id:
            await self.runtime.forget_space(space_id)

    # ----- watching --------------------------------------------------------------------------------------

    async def _watch_instances(self, interval: float = 1.0) -> None:
        """Notice serving instances that died (a crash after start) and let the reconciler record it."""
        while True:
            await asyncio.sleep(interval)
            with self.sessions() as session:
                rows = list(session.scalars(select(InstanceRow).where(InstanceRow.state == "serving")))
            for row in rows:
                status = await self.instances.status(row)
                if status.state is not InstanceState.RUNNING:
                    self.poke(row.space_id)
