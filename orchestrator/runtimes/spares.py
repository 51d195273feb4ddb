"""Spares: warm interpreters shared by the sleeping Spaces of one dependency set, for a fast wake.

A Space stopped for sleep has no instance and no standby, so a request would wake it with a cold start
(importing Gradio alone takes seconds). A *spare* is a standby that belongs to no Space: started from
the dependencies with only the SDK's environment (no Space's variables or secrets), its preload
modules imported, waiting for whichever Space of that dependency set starts next. Starting a Space
hands it the spare, which then becomes that Space's instance, as a standby does.

This module owns the bookkeeping the runtimes share: which spec a spare is started from, and the pool,
at most one spare per key and at most ``limit`` in all. Runtimes start and stop the spares; the idle
controller decides which are wanted (those of sleeping Spaces) and whether memory allows any.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Generic, TypeVar

from orchestrator.runtimes.base import LaunchSpec

SPARES_FOLDER = ".spares"
"""Logs folder of spares not yet claimed (a dot name: no owner is called that)."""

S = TypeVar("S")


def neutral_spec(spec: LaunchSpec) -> LaunchSpec:
    """``spec`` without anything of its Space: what a spare any Space of its dependencies can take
    is started from. Only the SDK's environment is kept; the Space's comes with the app."""
    return replace(spec, space_id="", env=dict(spec.sdk_env), labels={}, module=None, module_args=())


class Spares(Generic[S]):
    """The spares of one runtime, by key; ``key`` says which spare can run a spec (``None``: none can)."""

    def __init__(self, key: Callable[[LaunchSpec], str | None]) -> None:
        self._key = key
        self._spares: dict[str, S] = {}

    def __len__(self) -> int:
        return len(self._spares)

    def all(self) -> list[S]:
        return list(self._spares.values())

    def take(self, spec: LaunchSpec) -> S | None:
        """Remove and return the spare that can run ``spec``, if there is one."""
        key = self._key(spec)
        return self._spares.pop(key, None) if key is not None else None

    def add(self, spec: LaunchSpec, spare: S) -> None:
        key = self._key(spec)
        if key is not None:
            self._spares[key] = spare

    def plan(
        self, specs: Sequence[LaunchSpec], limit: int, alive: Callable[[S], bool]
    ) -> tuple[list[LaunchSpec], list[S]]:
        """What to start and what to stop so that the pool holds one live spare for each of the ``limit``
        keys most of ``specs`` share. Spares to stop leave the pool at once."""
        counts = Counter(k for k in map(self._key, specs) if k is not None)
        wanted = {key for key, _ in counts.most_common(max(limit, 0))}
        unwanted = [key for key, spare in self._spares.items() if key not in wanted or not alive(spare)]
        to_stop = [self._spares.pop(key) for key in unwanted]
        to_start: dict[str, LaunchSpec] = {}
        for spec in specs:
            key = self._key(spec)
            if key in wanted and key not in self._spares and key not in to_start:
                to_start[key] = spec
        return list(to_start.values()), to_stop
