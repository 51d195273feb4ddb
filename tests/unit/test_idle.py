"""The idle lifecycle without real apps: sleep-time rules, activity in the route table, the gate holding
requests while a Space wakes (one wake however many ask), and the idle controller freezing and thawing
against a real database and a runtime that only counts what it is asked to do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from orchestrator.cli.commands.sleep import describe_sleep_time, parse_sleep_time
from orchestrator.control.idle import IdleController, available_memory_mb
from orchestrator.control.instances import Instances
from orchestrator.control.reconciler import Reconciler
from orchestrator.control.sleepstate import asleep_state, awake, sleep_time, with_asleep
from orchestrator.errors import InvalidInputError
from orchestrator.proxy.gate import Asleep, Forward, Gate, Refuse
from orchestrator.proxy.metrics import TrafficMetrics
from orchestrator.proxy.routes import Route, RouteTable, Unavailable
from orchestrator.runtimes.base import Instance, InstanceState, InstanceStatus, LaunchSpec, Runtime
from orchestrator.settings import Settings
from orchestrator.stages import Stage
from orchestrator.state.database import make_engine, make_sessionmaker, migrate
from orchestrator.state.models import Build, Space
from orchestrator.state.models import Instance as InstanceRow

# ----- sleep-time rules ----------------------------------------------------------------------------------


def test_sleep_time_follows_the_hub() -> None:
    assert sleep_time({}, "cpu-basic", 172800) == 172800
    assert sleep_time({}, "t4-small", 172800) is None
    assert sleep_time({"sleep_time": 300}, "t4-small", 172800) == 300
    assert sleep_time({"sleep_time": -1}, "cpu-basic", 172800) is None
    assert sleep_time({"sleep_time": "junk"}, "cpu-basic", 172800) is None


def test_sleep_time_on_the_command_line() -> None:
    assert [parse_sleep_time(t) for t in ("300", "5m", "2h", "1d", "never")] == [300, 300, 7200, 86400, -1]
    with pytest.raises(InvalidInputError):
        parse_sleep_time("soon")
    assert describe_sleep_time(7200) == "sleeps after 2h without traffic"
    assert describe_sleep_time(None) == "never sleeps"


def test_a_push_or_restart_ends_a_sleep() -> None:
    settings = with_asleep({"paused": False}, "stopped", "abc", 1)
    assert asleep_state(settings, "abc", 1) == "stopped"
    assert asleep_state(settings, "def", 1) is None
    assert asleep_state(settings, "abc", 2) is None
    assert awake(settings) == {"paused": False}


def test_available_memory_is_read(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 8000000 kB\nMemAvailable:    2097152 kB\n")
    assert available_memory_mb(meminfo) == 2048
    assert available_memory_mb(tmp_path / "missing") is None


# ----- activity ------------------------------------------------------------------------------------------


def test_idle_seconds_count_from_the_last_connection() -> None:
    routes = RouteTable()
    routes.set("a-b", Route("i1", "127.0.0.1", 1))
    assert routes.idle_seconds("i1") < 1
    with routes.connection("i1"):
        assert routes.idle_seconds("i1", now=1e12) == 0
    assert routes.idle_seconds("i1", now=1e12) > 1e6


# ----- the gate while a Space sleeps ---------------------------------------------------------------------


class FakeSleep:
    """Wakes by setting a route after ``delay`` seconds; counts wakes and thaws."""

    def __init__(self, routes: RouteTable, *, delay: float, private_owner: str | None = None) -> None:
        self.routes = routes
        self.delay = delay
        self.private_owner = private_owner
        self.wakes = 0
        self.thaws = 0
        self._task: asyncio.Task[None] | None = None

    def asleep(self, subdomain: str) -> Asleep | None:
        return Asleep(self.private_owner) if self.routes.get(subdomain) is None else None

    async def thaw(self, route: Route) -> None:
        self.thaws += 1
        self.routes.frozen.discard(route.instance_id)

    def wake(self, subdomain: str) -> asyncio.Future[None]:
        if self._task is None:
            self.wakes += 1
            self._task = asyncio.ensure_future(self._wake(subdomain))
        return self._task

    async def _wake(self, subdomain: str) -> None:
        await asyncio.sleep(self.delay)
        self.routes.set(subdomain, Route("woken", "127.0.0.1", 1))


async def _nothing(_subdomain: str) -> Unavailable | None:
    return None


async def test_concurrent_requests_share_one_wake() -> None:
    routes = RouteTable()
    sleep = FakeSleep(routes, delay=0.1)
    gate = Gate(routes, _nothing, sleep=sleep, hold_seconds=5)
    decisions = await asyncio.gather(*(gate.decide("a-b", []) for _ in range(10)))
    assert sleep.wakes == 1
    assert all(isinstance(d, Forward) and d.route.instance_id == "woken" for d in decisions)


async def test_a_long_wake_answers_with_the_waking_page() -> None:
    routes = RouteTable()
    sleep = FakeSleep(routes, delay=0.5)
    gate = Gate(routes, _nothing, sleep=sleep, hold_seconds=0.05)
    decision = await gate.decide("a-b", [])
    assert isinstance(decision, Refuse)
    assert decision.unavailable.status_code == 503
    assert "waking up" in decision.unavailable.title
    await asyncio.sleep(0.6)  # the wake went on without the request
    assert isinstance(await gate.decide("a-b", []), Forward)
    assert sleep.wakes == 1


async def test_a_private_sleeping_space_does_not_wake_for_strangers() -> None:
    routes = RouteTable()
    sleep = FakeSleep(routes, delay=0, private_owner="alice")

    async def admit(_sub: str, owner: str, headers: Any) -> bool:
        return (b"authorization", b"Bearer alice") in headers

    gate = Gate(routes, _nothing, admit, sleep=sleep)
    refused = await gate.decide("alice-x", [])
    assert isinstance(refused, Refuse) and refused.unavailable.status_code == 404
    assert sleep.wakes == 0
    assert isinstance(await gate.decide("alice-x", [(b"authorization", b"Bearer alice")]), Forward)


async def test_a_frozen_route_is_thawed_before_forwarding() -> None:
    routes = RouteTable()
    routes.set("a-b", Route("i1", "127.0.0.1", 1))
    routes.frozen.add("i1")
    sleep = FakeSleep(routes, delay=0)
    decision = await Gate(routes, _nothing, sleep=sleep).decide("a-b", [])
    assert isinstance(decision, Forward)
    assert sleep.thaws == 1 and "i1" not in routes.frozen


# ----- the idle controller -------------------------------------------------------------------------------


class CountingRuntime(Runtime):
    name = "counting"

    def __init__(self, *, logs_dir: Path, can_freeze: bool = True) -> None:
        super().__init__(logs_dir=logs_dir)
        self.can_freeze = can_freeze
        self.freezes = 0
        self.thaws = 0

    async def start(self, spec: LaunchSpec) -> Instance:
        raise NotImplementedError

    async def status(self, instance: Instance) -> InstanceStatus:
        return InstanceStatus(InstanceState.RUNNING)

    async def stop(self, instance: Instance) -> None:
        return None

    async def freeze(self, instance: Instance) -> bool:
        self.freezes += 1
        return self.can_freeze

    async def thaw(self, instance: Instance) -> None:
        await asyncio.sleep(0.05)
        self.thaws += 1


class StubReconciler:
    """Records pokes; ``idle`` returns at once (the real one would stop or start the Space)."""

    def __init__(self, instances: Instances) -> None:
        self.pokes: list[str] = []
        self.instances = instances

    def poke(self, space_pk: str) -> None:
        self.pokes.append(space_pk)

    async def idle(self, space_pk: str) -> None:
        return None


@pytest.fixture
def controller(tmp_path: Path) -> tuple[IdleController, CountingRuntime, StubReconciler, RouteTable]:
    url = f"sqlite:///{tmp_path / 'spaces.db'}"
    migrate(url)
    sessions = make_sessionmaker(make_engine(url))
    with sessions() as session:
        session.add(Space(id="s1", owner="alice", name="nap", sdk="gradio", stage=Stage.RUNNING))
        session.flush()
        session.add(Build(id=1, space_id="s1", sha="a" * 40, runtime="counting", status="succeeded"))
        session.flush()
        session.add(
            InstanceRow(
                id="i1",
                space_id="s1",
                build_id=1,
                sha="a" * 40,
                runtime="counting",
                handle="1",
                host="127.0.0.1",
                port=1,
                log_path=str(tmp_path / "log"),
                state="serving",
            )
        )
        session.commit()
    routes = RouteTable()
    routes.set("alice-nap", Route("i1", "127.0.0.1", 1, space="alice/nap"))
    runtime = CountingRuntime(logs_dir=tmp_path)
    settings = Settings(data_dir=tmp_path, default_sleep_time=0, sleep_stop_after=3600)
    reconciler = StubReconciler(Instances(settings=settings, sessions=sessions, runtime=runtime))
    idle = IdleController(
        settings=settings,
        sessions=sessions,
        runtime=runtime,
        routes=routes,
        reconciler=cast(Reconciler, reconciler),
        metrics=TrafficMetrics(),
    )
    return idle, runtime, reconciler, routes


def _space(idle: IdleController) -> Space:
    with idle.sessions() as session:
        space = session.get_one(Space, "s1")
        session.expunge(space)
        return space


async def test_idle_space_is_frozen_then_thawed_once(
    controller: tuple[IdleController, CountingRuntime, StubReconciler, RouteTable],
) -> None:
    idle, runtime, _reconciler, routes = controller
    await idle.check()
    assert runtime.freezes == 1 and "i1" in routes.frozen
    assert _space(idle).stage == Stage.SLEEPING
    route = routes.get("alice-nap")
    assert route is not None
    await asyncio.gather(*(idle.thaw(route) for _ in range(10)))
    assert runtime.thaws == 1 and "i1" not in routes.frozen
    for _ in range(100):  # the stage is recorded in the background, off the requests' path
        if _space(idle).stage == Stage.RUNNING:
            break
        await asyncio.sleep(0.02)
    space = _space(idle)
    assert space.stage == Stage.RUNNING and "asleep" not in space.settings
    assert idle.metrics.spaces["alice/nap"].wakes == 1


async def test_a_busy_space_is_not_frozen(
    controller: tuple[IdleController, CountingRuntime, StubReconciler, RouteTable],
) -> None:
    idle, runtime, _reconciler, routes = controller
    with routes.connection("i1"):
        await idle.check()
    assert runtime.freezes == 0


async def test_without_freezing_a_sleeping_space_is_stopped_and_woken(
    controller: tuple[IdleController, CountingRuntime, StubReconciler, RouteTable],
) -> None:
    idle, runtime, reconciler, routes = controller
    runtime.can_freeze = False
    await idle.check()
    assert reconciler.pokes == ["s1"]
    assert asleep_state(_space(idle).settings, None, 0) == "stopped"
    assert idle.asleep("alice-nap") == Asleep(None)
    routes.remove("alice-nap")  # what the reconciler does when it stops the Space
    wakes = [idle.wake("alice-nap") for _ in range(5)]
    assert len({id(w) for w in wakes}) == 1
    await wakes[0]
    assert reconciler.pokes == ["s1", "s1"]
    assert idle.asleep("alice-nap") is None
    assert "asleep" not in _space(idle).settings


class SpareCountingRuntime(CountingRuntime):
    def __init__(self, *, logs_dir: Path) -> None:
        super().__init__(logs_dir=logs_dir)
        self.spares: list[tuple[list[LaunchSpec], int]] = []
        self.standbys: list[str] = []

    async def prepare_standby(self, spec: LaunchSpec) -> None:
        self.standbys.append(spec.space_id)

    async def discard_standby(self, space_id: str) -> None:
        if space_id in self.standbys:
            self.standbys.remove(space_id)

    async def keep_spares(self, specs: Sequence[LaunchSpec], limit: int) -> None:
        self.spares.append((list(specs), limit))


async def test_a_sleeping_space_trades_its_standby_for_a_spare_while_memory_allows(
    controller: tuple[IdleController, CountingRuntime, StubReconciler, RouteTable],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    idle, _runtime, reconciler, routes = controller
    runtime = idle.runtime = reconciler.instances.runtime = SpareCountingRuntime(logs_dir=tmp_path)
    with idle.sessions() as session:
        session.get_one(Space, "s1").desired_sha = "a" * 40
        build = session.get_one(Build, 1)
        build.artifact = {
            "kind": "venv",
            "reference": "/envs/x",
            "deps_reference": "/envs/x",
            "deps_key": "x",
            "app_dir": str(tmp_path),
        }
        build.plan = {"env": {"GRADIO_ANALYTICS_ENABLED": "False"}, "preload": ["gradio"]}
        session.commit()
    try:
        runtime.standbys.append("alice/nap")
        await idle.check()  # frozen: a spare replaces its standby, long before it is stopped
        assert runtime.freezes == 1 and runtime.standbys == []
        specs, limit = runtime.spares[-1]
        assert limit == idle.settings.sleep_spares > 0
        assert [(s.space_id, s.preload, s.sdk_env) for s in specs] == [
            ("alice/nap", ("gradio",), {"GRADIO_ANALYTICS_ENABLED": "False"})
        ]

        route = routes.get("alice-nap")
        assert route is not None
        await idle.thaw(route)
        while runtime.standbys != ["alice/nap"]:  # in the background: a thawed Space has a standby again
            await asyncio.sleep(0.02)
        assert _space(idle).stage == Stage.RUNNING
        with routes.connection(route.instance_id):  # awake and busy: no spare wanted
            await idle.check()
        assert runtime.spares[-1] == ([], limit)

        # Near the memory floor spares go first (the Space stays frozen: memory is not short yet).
        monkeypatch.setattr("orchestrator.control.idle.available_memory_mb", lambda: 1000)
        idle.settings = Settings(data_dir=tmp_path, default_sleep_time=0, sleep_memory_floor_mb=800)
        await idle.check()
        assert "i1" in routes.frozen and runtime.spares[-1] == ([], 0)
    finally:
        await reconciler.instances.close()
