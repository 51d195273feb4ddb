"""Per-Space traffic counters the relays feed, and their Prometheus text exposition.

Owns ``TrafficMetrics``: one ``record`` call per finished request (from any relay, through the gate)
adds to the Space's request count by status class, bytes in and out, a latency histogram and the time
of the last request; ``render`` turns them, with open connections and stages the caller supplies, into
Prometheus' text format (version 0.0.4). Plain dictionaries and integers: no locks, no I/O, and
nothing allocated per request once a Space has been seen.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

LATENCY_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Upper bounds, in seconds, of the request-duration histogram (``+Inf`` is implied)."""

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class SpaceTraffic:
    """What the proxy carried for one Space since the control plane started."""

    requests: dict[str, int] = field(default_factory=dict)
    """By status class: ``2xx``, ``3xx``, ``4xx``, ``5xx`` (``1xx`` for WebSockets that were accepted)."""
    bytes_in: int = 0
    bytes_out: int = 0
    latency_buckets: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))
    latency_sum: float = 0.0
    latency_count: int = 0
    last_request_monotonic: float = 0.0
    """``time.monotonic()`` when the last request finished (0: none yet)."""
    wakes: int = 0

    @property
    def last_request(self) -> float:
        """Unix time the last request finished (0: none yet)."""
        if not self.last_request_monotonic:
            return 0.0
        return time.time() - (time.monotonic() - self.last_request_monotonic)


_CLASSES: Final = ("1xx", "2xx", "3xx", "4xx", "5xx")

_BOUNDS: list[float] = list(LATENCY_BUCKETS)
"""``LATENCY_BUCKETS`` as a list, for ``record``: compiled, a loop over a ``Final`` tuple of floats
boxes each of them anew."""


class TrafficMetrics:
    """Counters by Space id."""

    def __init__(self) -> None:
        self.spaces: dict[str, SpaceTraffic] = {}

    def _of(self, space: str) -> SpaceTraffic:
        traffic = self.spaces.get(space)
        if traffic is None:
            traffic = self.spaces[space] = SpaceTraffic()
        return traffic

    def record(
        self, space: str, status: int, bytes_in: int, bytes_out: int, seconds: float, now: float = 0.0
    ) -> None:
        """Count one finished request (or WebSocket session) of ``space``, which ended at ``now``
        (``time.monotonic()``; read here if not given)."""
        traffic = self._of(space)
        key = _CLASSES[min(max(status // 100, 1), 5) - 1]
        traffic.requests[key] = traffic.requests.get(key, 0) + 1
        traffic.bytes_in += bytes_in
        traffic.bytes_out += bytes_out
        traffic.latency_sum += seconds
        traffic.latency_count += 1
        for index, bound in enumerate(_BOUNDS):  # the first bound >= seconds; most stop at the first
            if seconds <= bound:
                traffic.latency_buckets[index] += 1
                break
        traffic.last_request_monotonic = now or time.monotonic()

    def record_wake(self, space: str) -> None:
        """Count one wake of ``space`` (a thaw or a start from stopped)."""
        self._of(space).wakes += 1

    def forget(self, space: str) -> None:
        self.spaces.pop(space, None)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(
    metrics: TrafficMetrics,
    *,
    stages: Mapping[str, str],
    open_connections: Mapping[str, int],
    visible: Iterable[str] | None = None,
    spares: int = 0,
) -> str:
    """The Prometheus text for every Space in ``stages`` (or only those in ``visible``), and the number
    of ``spares`` the runtime keeps for sleeping Spaces."""
    names = sorted(stages if visible is None else set(visible) & set(stages))
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")

    empty = SpaceTraffic()
    family("spaces_stage", "gauge", "The Space's stage (1 for the current one).")
    for space in names:
        lines.append(f'spaces_stage{{space="{_label(space)}",stage="{_label(stages[space])}"}} 1')
    family("spaces_requests_total", "counter", "Requests the proxy carried, by status class.")
    for space in names:
        traffic = metrics.spaces.get(space, empty)
        for key in _CLASSES:
            value = traffic.requests.get(key, 0)
            lines.append(f'spaces_requests_total{{space="{_label(space)}",code="{key}"}} {value}')
    family("spaces_received_bytes_total", "counter", "Request body bytes received from clients.")
    for space in names:
        value = metrics.spaces.get(space, empty).bytes_in
        lines.append(f'spaces_received_bytes_total{{space="{_label(space)}"}} {value}')
    family("spaces_sent_bytes_total", "counter", "Response body bytes sent to clients.")
    for space in names:
        value = metrics.spaces.get(space, empty).bytes_out
        lines.append(f'spaces_sent_bytes_total{{space="{_label(space)}"}} {value}')
    family("spaces_open_connections", "gauge", "HTTP requests in flight and open WebSockets.")
    for space in names:
        lines.append(f'spaces_open_connections{{space="{_label(space)}"}} {open_connections.get(space, 0)}')
    family("spaces_last_request_timestamp_seconds", "gauge", "Unix time of the last request (0: none).")
    for space in names:
        last = metrics.spaces.get(space, empty).last_request
        lines.append(f'spaces_last_request_timestamp_seconds{{space="{_label(space)}"}} {last:.3f}')
    family("spaces_wakes_total", "counter", "Times the Space was woken from sleep by a request.")
    for space in names:
        lines.append(
            f'spaces_wakes_total{{space="{_label(space)}"}} {metrics.spaces.get(space, empty).wakes}'
        )
    family("spaces_request_duration_seconds", "histogram", "Time from request to end of response.")
    for space in names:
        traffic = metrics.spaces.get(space, empty)
        label = _label(space)
        cumulative = 0
        for bound, count in zip(LATENCY_BUCKETS, traffic.latency_buckets, strict=True):
            cumulative += count
            lines.append(
                f'spaces_request_duration_seconds_bucket{{space="{label}",le="{bound:g}"}} {cumulative}'
            )
        lines.append(
            f'spaces_request_duration_seconds_bucket{{space="{label}",le="+Inf"}} {traffic.latency_count}'
        )
        lines.append(f'spaces_request_duration_seconds_sum{{space="{label}"}} {traffic.latency_sum:.6f}')
        lines.append(f'spaces_request_duration_seconds_count{{space="{label}"}} {traffic.latency_count}')
    family("spaces_spares", "gauge", "Warm interpreters kept for waking sleeping Spaces (none of their own).")
    lines.append(f"spaces_spares {spares}")
    return "\n".join(lines) + "\n"
