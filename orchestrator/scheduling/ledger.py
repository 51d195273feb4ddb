"""GPU usage over time, per team and flavor: what ``spaces admin usage --since 7d`` reports.

The ledger records when each admission started and ended; ``usage`` folds the intervals that overlap
a window into device-seconds (cards, MIG instances or replicas held) and GPU-seconds (the share of
physical cards: a 1g MIG instance of an A100 is 1/7, one of 4 replicas is 1/4). Pure: intervals are
values; storing them is the control plane's business.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from orchestrator.scheduling.workloads import Admission


@dataclass(frozen=True)
class Interval:
    space: str
    team: str | None
    flavor: str
    start: float
    end: float | None
    devices: int
    gpus: float
    """Physical cards' worth of GPU held (sum of the devices' ``gpu_fraction``)."""


@dataclass(frozen=True)
class Usage:
    team: str | None
    flavor: str
    device_seconds: float
    gpu_seconds: float
    spaces: int

    @property
    def gpu_hours(self) -> float:
        return self.gpu_seconds / 3600


def usage(intervals: Iterable[Interval], since: float, until: float) -> list[Usage]:
    """Usage per (team, flavor) within ``[since, until)``; open intervals count up to ``until``."""
    totals: dict[tuple[str | None, str], list[float]] = {}
    spaces: dict[tuple[str | None, str], set[str]] = {}
    for interval in intervals:
        start = max(interval.start, since)
        end = min(interval.end if interval.end is not None else until, until)
        if end <= start:
            continue
        key = (interval.team, interval.flavor)
        total = totals.setdefault(key, [0.0, 0.0])
        total[0] += (end - start) * interval.devices
        total[1] += (end - start) * interval.gpus
        spaces.setdefault(key, set()).add(interval.space)
    return [
        Usage(team, flavor, device_s, gpu_s, len(spaces[(team, flavor)]))
        for (team, flavor), (device_s, gpu_s) in sorted(
            totals.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])
        )
    ]


class Ledger:
    """Append-only intervals of admissions (closed on release)."""

    def __init__(self, intervals: Iterable[Interval] = ()) -> None:
        self.intervals: list[Interval] = list(intervals)
        self._open: dict[str, int] = {}

    def open(self, admission: Admission) -> None:
        if not admission.devices:
            return  # holds no GPU: nothing to account
        gpus = sum(device.gpu_fraction for device in admission.devices)
        self._open[admission.space] = len(self.intervals)
        self.intervals.append(
            Interval(
                admission.space,
                admission.team,
                admission.flavor,
                admission.admitted_at,
                None,
                len(admission.devices),
                gpus,
            )
        )

    def close(self, space: str, now: float) -> None:
        index = self._open.pop(space, None)
        if index is not None:
            interval = self.intervals[index]
            self.intervals[index] = Interval(
                interval.space,
                interval.team,
                interval.flavor,
                interval.start,
                now,
                interval.devices,
                interval.gpus,
            )

    def usage(self, since: float, until: float) -> list[Usage]:
        return usage(self.intervals, since, until)
