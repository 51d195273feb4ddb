"""The idle lifecycle: put Spaces nobody uses to sleep, and wake them when a request comes.

Sleep is tiered. A Space idle (no request, no open connection) for its sleep time is *frozen*: its
instance is suspended by the runtime with its memory kept and its route stays, marked frozen, so the
next request thaws it in milliseconds. After ``sleep_stop_after`` more seconds frozen (or sooner, when
the machine runs short of memory) it is *stopped*: the reconciler stops its instances and its standby,
the route goes, and the next request starts it again from its last good build. Both tiers show as
``SLEEPING``. ``IdleController`` is the gate's ``Sleep``: it thaws and wakes once per instance or
Space however many requests ask at the same time. It decides and records; the runtime freezes and
thaws, and the reconciler starts and stops.

So that a stopped Space wakes without paying for its SDK's import again, the runtime keeps *spares*
(``orchestrator.runtimes.spares``) for the sleeping Spaces: at most ``sleep_spares`` warm interpreters,
one per dependency set, shared by every Space of that set, started as soon as a Space freezes (well
before it is stopped). They are the first memory given back: none are kept while available memory is
within ``SPARE_HEADROOM_MB`` of ``sleep_memory_floor_mb``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.control.instances import instance_of
from orchestrator.control.reconciler import Reconciler
from orchestrator.control.sleepstate import asleep_state, awake, sleep_time, with_asleep
from orchestrator.naming import subdomain
from orchestrator.proxy.gate import Asleep
from orchestrator.proxy.metrics import TrafficMetrics
from orchestrator.proxy.routes import Route, RouteTable
from orchestrator.runtimes.base import Instance, LaunchSpec, Runtime
from orchestrator.settings import Settings
from orchestrator.stages import Stage
from orchestrator.state.models import Instance as InstanceRow
from orchestrator.state.models import Space, utcnow

log = logging.getLogger(__name__)

MEMINFO = Path("/proc/meminfo")
SPARE_HEADROOM_MB = 512
"""Spares are kept only while at least this much memory is available above the floor (hysteresis: a
spare of a few hundred MiB must not itself push the machine under the floor)."""


def available_memory_mb(meminfo: Path = MEMINFO) -> int | None:
    """``MemAvailable`` in MiB, or ``None`` where the kernel does not say."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class IdleController:
    """Freezes, stops, thaws and wakes Spaces; one loop every ``sleep_check_interval`` seconds."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        runtime: Runtime,
        routes: RouteTable,
        reconciler: Reconciler,
        metrics: TrafficMetrics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.runtime = runtime
        self.routes = routes
        self.reconciler = reconciler
        self.metrics = metrics
        self.clock = clock
        self._frozen_since: dict[str, float] = {}
        self._stopped: dict[str, Asleep] = {}
        self._spaces: dict[str, str] = {}
        """Subdomain to Space primary key, for the Spaces stopped for sleep."""
        self._locks: dict[str, asyncio.Lock] = {}
        self._instances: dict[str, Instance] = {}
        """Frozen instances, kept so that a thaw needs no database read before it resumes them."""
        self._background: set[asyncio.Task[None]] = set()
        self._thawing: dict[str, asyncio.Task[None]] = {}
        self._waking: dict[str, asyncio.Task[None]] = {}
        self._spare_specs: dict[str, tuple[tuple[str | None, int], LaunchSpec]] = {}
        """Space primary key to its launch spec, for the commit and generation it sleeps on."""
        self._loop_task: asyncio.Task[None] | None = None

    # ----- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Pick up Spaces that were asleep when the control plane stopped, then start the loop.

        Call after ``Reconciler.start``, which puts back the routes of instances that survived.
        """
        now = self.clock()
        with self.sessions() as session:
            for space in session.scalars(select(Space)):
                state = asleep_state(space.settings, space.desired_sha, space.generation)
                sub = subdomain(space.owner, space.name)
                route = self.routes.get(sub)
                if state == "frozen" and route is not None:
                    self.routes.frozen.add(route.instance_id)
                    self._frozen_since[route.instance_id] = now
                elif state == "stopped":
                    self._mark_stopped(sub, space)
        self._loop_task = asyncio.create_task(self._run())

    async def close(self) -> None:
        tasks = [
            t
            for t in (self._loop_task, *self._thawing.values(), *self._waking.values(), *self._background)
            if t
        ]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sleep_check_interval)
            try:
                await self.check()
            except Exception:  # the next pass tries again; a Space left awake only costs memory
                log.exception("the idle check failed")

    # ----- putting to sleep ------------------------------------------------------------------------------

    async def check(self) -> None:
        """One pass: freeze the Spaces idle for their sleep time, stop those frozen long enough."""
        now = self.clock()
        low_memory = self._low_on_memory()
        with self.sessions() as session:
            spaces = list(session.scalars(select(Space)))
            candidates: list[tuple[Space, Route, str]] = []
            stopped: set[str] = set()
            sleepers: list[tuple[str, str | None, int]] = []  # asleep or falling asleep now
            for space in spaces:
                sub = subdomain(space.owner, space.name)
                if asleep_state(space.settings, space.desired_sha, space.generation) == "stopped":
                    stopped.add(sub)
                    self._mark_stopped(sub, space)
                    if not space.settings.get("paused"):
                        sleepers.append((space.id, space.desired_sha, space.generation))
                route = self.routes.get(sub)
                if route is None or route.static_root is not None:  # static Spaces are always running
                    continue
                if route.instance_id in self.routes.frozen:
                    sleepers.append((space.id, space.desired_sha, space.generation))
                    frozen_for = now - self._frozen_since.setdefault(route.instance_id, now)
                    if frozen_for >= self.settings.sleep_stop_after or low_memory:
                        candidates.append((space, route, "stop"))
                        low_memory = False  # one at a time: the next pass looks at memory again
                    continue
                seconds = sleep_time(space.settings, space.hardware, self.settings.default_sleep_time)
                if (
                    seconds is not None
                    and space.stage == Stage.RUNNING
                    and self.routes.idle_seconds(route.instance_id, now) >= seconds
                ):
                    candidates.append((space, route, "freeze"))
        for sub in [s for s in self._stopped if s not in stopped and s not in self._waking]:
            del self._stopped[sub]  # woken by a push, a restart or a thaw that won a race; or deleted
            self._spaces.pop(sub, None)
        live = {route.instance_id for route in self.routes.all().values()}
        for instance_id in [i for i in self.routes.frozen if i not in live]:
            self.routes.forget(instance_id)
            self._frozen_since.pop(instance_id, None)
            self._instances.pop(instance_id, None)
        for space, route, action in candidates:
            if action == "stop":
                await self.stop(space.id, route)
            elif await self.freeze(space.id, route):
                sleepers.append((space.id, space.desired_sha, space.generation))
        await self._keep_spares(sleepers)

    async def _keep_spares(self, sleepers: list[tuple[str, str | None, int]]) -> None:
        """Have the runtime keep spares for ``sleepers`` (Space, commit, generation), memory allowing."""
        limit = self.settings.sleep_spares if self._room_for_spares() else 0
        specs: list[LaunchSpec] = []
        for space_pk, sha, generation in sleepers if limit > 0 else []:
            cached = self._spare_specs.get(space_pk)
            if cached is None or cached[0] != (sha, generation):
                spec = await asyncio.to_thread(self._launch_spec, space_pk)
                if spec is None:
                    continue
                cached = self._spare_specs[space_pk] = ((sha, generation), spec)
            specs.append(cached[1])
        asleep = {space_pk for space_pk, _, _ in sleepers}
        for space_pk in [pk for pk in self._spare_specs if pk not in asleep]:
            del self._spare_specs[space_pk]
        try:
            await self.runtime.keep_spares(specs, limit)
        except Exception:  # a missing spare only makes the next wake slower
            log.exception("keeping spares for sleeping Spaces failed")

    async def freeze(self, space_pk: str, route: Route) -> bool:
        """Suspend the instance behind ``route``; a runtime that cannot freeze has it stopped instead.
        ``False``: it is busy and stays awake."""
        if self.routes.open_connections(route.instance_id):
            return False
        # Marked before the runtime call: a request arriving meanwhile waits for the freeze, then thaws.
        self.routes.frozen.add(route.instance_id)
        async with self._lock(route.instance_id):
            instance = self._instance(route.instance_id)
            frozen = instance is not None and await self._quietly(self.runtime.freeze(instance))
            if instance is not None and frozen:
                self._instances[route.instance_id] = instance
            else:
                self.routes.frozen.discard(route.instance_id)
        if not frozen:
            await self.stop(space_pk, route)
            return True
        self._frozen_since[route.instance_id] = self.clock()
        self._record(space_pk, "frozen")
        # Its standby waits for a push while it sleeps: the spare of its dependency set (one for all
        # the sleeping Spaces of that set) takes its place, and the standby comes back with a thaw.
        if route.space:
            await self._quietly(self.runtime.discard_standby(route.space))
        log.info("froze %s (instance %s)", route.space, route.instance_id)
        return True

    async def stop(self, space_pk: str, route: Route) -> None:
        """Have the reconciler stop the Space until a request wakes it."""
        self._record(space_pk, "stopped")
        self.reconciler.poke(space_pk)
        await self.reconciler.idle(space_pk)
        self.routes.forget(route.instance_id)
        self._frozen_since.pop(route.instance_id, None)
        self._instances.pop(route.instance_id, None)
        log.info("stopped %s for sleep", route.space)

    def _record(self, space_pk: str, state: str) -> None:
        with self.sessions() as session:
            space = session.get(Space, space_pk)
            if space is None:
                return
            space.settings = with_asleep(
                space.settings,
                "frozen" if state == "frozen" else "stopped",
                space.desired_sha,
                space.generation,
            )
            space.stage = Stage.SLEEPING
            space.updated_at = utcnow()
            session.commit()
            if state == "stopped":
                self._mark_stopped(subdomain(space.owner, space.name), space)

    def _mark_stopped(self, sub: str, space: Space) -> None:
        self._stopped[sub] = Asleep(private_owner=space.owner if space.private else None)
        self._spaces[sub] = space.id

    def _launch_spec(self, space_pk: str) -> LaunchSpec | None:
        build = self.reconciler.instances.wanted_build(space_pk)
        if build is None or build.artifact is None:
            return None
        return self.reconciler.instances.launch_spec(space_pk, build)

    def _room_for_spares(self) -> bool:
        floor = self.settings.sleep_memory_floor_mb
        if floor <= 0:
            return True
        available = available_memory_mb()
        return available is None or available >= floor + SPARE_HEADROOM_MB

    def _low_on_memory(self) -> bool:
        floor = self.settings.sleep_memory_floor_mb
        if floor <= 0:
            return False
        available = available_memory_mb()
        return available is not None and available < floor

    # ----- waking (the gate's ``Sleep``) -------------------------------------------------------------

    def asleep(self, subdomain: str) -> Asleep | None:
        return self._stopped.get(subdomain)

    async def thaw(self, route: Route) -> None:
        task = self._thawing.get(route.instance_id)
        if task is None:
            task = asyncio.create_task(self._thaw(route))
            self._thawing[route.instance_id] = task
            task.add_done_callback(lambda _: self._thawing.pop(route.instance_id, None))
        await asyncio.shield(task)

    async def _thaw(self, route: Route) -> None:
        async with self._lock(route.instance_id):
            if route.instance_id not in self.routes.frozen:
                return
            instance = self._instances.pop(route.instance_id, None) or self._instance(route.instance_id)
            if instance is not None:
                await self._quietly(self.runtime.thaw(instance))
            self.routes.frozen.discard(route.instance_id)
            self._frozen_since.pop(route.instance_id, None)
        self.metrics.record_wake(route.space or route.instance_id)
        # Off the request's path: the held requests go on as soon as the instance runs.
        task = asyncio.ensure_future(self._after_thaw(route.space))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _after_thaw(self, space_id: str) -> None:
        """Record a thawed Space awake and give it back the standby it gave up when it froze."""
        try:
            space_pk = await asyncio.to_thread(self._mark_awake, space_id, Stage.RUNNING)
            if space_pk is None or not self.settings.warm_standby:
                return
            build = await asyncio.to_thread(self.reconciler.instances.wanted_build, space_pk)
            if build is not None and build.artifact is not None:
                await self.reconciler.instances.prepare_standby(space_pk, build)
        except Exception:  # without a standby its next push only starts slower
            log.exception("recording the thaw of %s failed", space_id)

    def wake(self, subdomain: str) -> asyncio.Future[None]:
        task = self._waking.get(subdomain)
        if task is None:
            task = asyncio.create_task(self._wake(subdomain))
            self._waking[subdomain] = task
        return task

    async def _wake(self, sub: str) -> None:
        space_pk = self._spaces.get(sub)
        try:
            if space_pk is None:
                return
            space_id = self._mark_awake_pk(space_pk)
            self.metrics.record_wake(space_id or sub)
            self.reconciler.poke(space_pk)
            await self.reconciler.idle(space_pk)
        except Exception:
            log.exception("waking %s failed", sub)
        finally:
            self._stopped.pop(sub, None)
            self._spaces.pop(sub, None)
            self._waking.pop(sub, None)

    def _mark_awake(self, space_id: str, stage: Stage) -> str | None:
        """Record the Space awake; return its primary key (``None``: it is gone)."""
        owner, _, name = space_id.partition("/")
        with self.sessions() as session:
            space = session.scalars(select(Space).where(Space.owner == owner, Space.name == name)).first()
            if space is None:
                return None
            space.settings = awake(space.settings)
            if space.stage == Stage.SLEEPING:
                space.stage = stage
            space.updated_at = utcnow()
            session.commit()
            return space.id

    def _mark_awake_pk(self, space_pk: str) -> str | None:
        with self.sessions() as session:
            space = session.get(Space, space_pk)
            if space is None:
                return None
            space.settings = awake(space.settings)
            space.updated_at = utcnow()
            session.commit()
            return space.space_id

    # ----- helpers ---------------------------------------------------------------------------------------

    def _lock(self, instance_id: str) -> asyncio.Lock:
        return self._locks.setdefault(instance_id, asyncio.Lock())

    def _instance(self, instance_id: str) -> Instance | None:
        with self.sessions() as session:
            row = session.get(InstanceRow, instance_id)
            return instance_of(row) if row is not None else None

    @staticmethod
    async def _quietly(step: Awaitable[bool | None]) -> bool:
        try:
            result = await step
        except Exception:
            log.exception("a runtime freeze or thaw failed")
            return False
        return result is not False
