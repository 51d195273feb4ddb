"""Requests waiting for hardware, in lanes of one team and one flavor, each in BestEffortFIFO order.

Within a lane, higher priority first, then first come first served. Every request of a lane asks for
the same thing, so when the lane's head cannot be admitted neither can the rest, and only heads need a
new look when something frees up; a head that cannot be admitted does not hold up other lanes (Kueue's
``BestEffortFIFO``). A request's position is its place in its lane.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field

from orchestrator.scheduling.decisions import Decision
from orchestrator.scheduling.workloads import SpaceRequest

LaneKey = tuple[str | None, str]
"""(team, flavor)."""


@dataclass
class Waiting:
    request: SpaceRequest
    team: str | None
    seq: int
    since: float
    waiting_for: frozenset[str] = field(default_factory=frozenset)
    """Spaces being stopped for this request; it is decided again once they are released."""
    last: Decision | None = None

    @property
    def lane(self) -> LaneKey:
        return (self.team, self.request.flavor)

    @property
    def order(self) -> tuple[int, int, str]:
        return (-self.request.priority, self.seq, self.request.space)


class PendingQueue:
    def __init__(self) -> None:
        self._entries: dict[str, Waiting] = {}
        self._lanes: dict[LaneKey, list[tuple[int, int, str]]] = {}

    def __contains__(self, space: object) -> bool:
        return space in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, space: str) -> Waiting | None:
        return self._entries.get(space)

    def push(self, waiting: Waiting) -> None:
        self._entries[waiting.request.space] = waiting
        bisect.insort(self._lanes.setdefault(waiting.lane, []), waiting.order)

    def remove(self, space: str) -> Waiting | None:
        waiting = self._entries.pop(space, None)
        if waiting is None:
            return None
        lane = self._lanes[waiting.lane]
        del lane[bisect.bisect_left(lane, waiting.order)]
        if not lane:
            del self._lanes[waiting.lane]
        return waiting

    def head(self, lane: LaneKey) -> Waiting | None:
        entries = self._lanes.get(lane)
        return self._entries[entries[0][2]] if entries else None

    def position(self, space: str) -> int | None:
        """1-based place in its lane; ``None`` when not waiting."""
        waiting = self._entries.get(space)
        if waiting is None:
            return None
        return bisect.bisect_left(self._lanes[waiting.lane], waiting.order) + 1

    def lanes(self) -> list[LaneKey]:
        return list(self._lanes)

    def has_lane(self, lane: LaneKey) -> bool:
        return lane in self._lanes

    def lane(self, lane: LaneKey) -> Iterator[Waiting]:
        for _, _, space in self._lanes.get(lane, []):
            yield self._entries[space]

    def __iter__(self) -> Iterator[Waiting]:
        return iter(list(self._entries.values()))
