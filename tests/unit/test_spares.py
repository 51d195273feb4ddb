"""Which spares a runtime keeps: one per dependency set, the most shared first, none past the limit."""

from __future__ import annotations

from dataclasses import replace

from orchestrator.runtimes.base import Artifact, LaunchSpec
from orchestrator.runtimes.spares import Spares, neutral_spec


def spec(space_id: str, deps: str, *, command: tuple[str, ...] = ()) -> LaunchSpec:
    artifact = Artifact("venv", f"/envs/{deps}", f"/envs/{deps}", deps, "/app")
    return LaunchSpec(space_id, artifact, "app.py", {"TOKEN": "secret", "SDK": "1"}, command=command)


def by_deps(launch: LaunchSpec) -> str | None:
    return None if launch.command else launch.artifact.deps_key


def test_the_most_shared_dependency_sets_get_the_spares() -> None:
    spares: Spares[str] = Spares(by_deps)
    sleeping = [spec("a/1", "x"), spec("a/2", "y"), spec("a/3", "y"), spec("a/4", "z", command=("sh",))]
    to_start, to_stop = spares.plan(sleeping, 1, lambda _: True)
    assert [s.space_id for s in to_start] == ["a/2"] and to_stop == []
    spares.add(to_start[0], "spare-y")
    # Kept while wanted; stopped once not, or once dead.
    assert spares.plan(sleeping, 2, lambda _: True) == ([sleeping[0]], [])
    assert spares.plan(sleeping, 2, lambda _: False) == ([sleeping[0], sleeping[1]], ["spare-y"])
    spares.add(sleeping[1], "spare-y2")
    assert spares.plan([], 2, lambda _: True) == ([], ["spare-y2"])
    assert len(spares) == 0


def test_a_spare_is_taken_once_by_a_space_of_its_dependencies() -> None:
    spares: Spares[str] = Spares(by_deps)
    spares.add(spec("a/1", "x"), "spare-x")
    assert spares.take(spec("b/2", "y")) is None
    assert spares.take(spec("b/2", "x", command=("sh",))) is None
    assert spares.take(spec("b/2", "x")) == "spare-x"
    assert spares.take(spec("a/1", "x")) is None


def test_a_spare_starts_with_no_space_of_its_own() -> None:
    launch = replace(spec("a/1", "x"), sdk_env={"SDK": "1"}, labels={"spaces.commit": "abc"})
    neutral = neutral_spec(launch)
    assert (neutral.space_id, neutral.env, neutral.labels) == ("", {"SDK": "1"}, {})
    assert neutral.artifact == launch.artifact
