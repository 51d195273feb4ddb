"""The ZeroGPU ledger: one record per finished call, and the totals admins and users read from it.

Owns ``UsageRecord`` (what a call cost: device seconds for the owning team's GPU quota, quota seconds
for the visitor), the ``UsageSink`` interface the scheduler's server writes records to, two sinks (in
memory; an append-only JSON-lines file in the data dir), and pure summaries by visitor, Space or team
(what ``spaces admin usage --zero`` prints). The control plane may store records in its database
instead: it implements ``UsageSink``.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from orchestrator.zerogpu.protocol import GPUSize

Outcome = Literal["ok", "failed", "unused", "killed", "crashed", "stopped"]
"""How a call ended: released (``ok`` / ``failed`` as the client said), released without ever using
its device (``unused``), ended by the server past its duration and grace (``killed``), its worker or
app died without releasing (``crashed``), or its Space was stopped (``stopped``)."""

GroupBy = Literal["visitor", "space", "team"]


@dataclass(frozen=True)
class UsageRecord:
    space_id: str
    team: str | None
    visitor: str
    tier: str
    task_id: int
    device_index: int
    device_uuid: str
    size: GPUSize
    requested_s: int
    granted_at: float
    ended_at: float
    gpu_s: float
    """Seconds the device was held: what counts against the owning team's GPU quota."""
    quota_s: float
    """Seconds charged to the visitor's daily quota (elapsed x size factor, at most what was reserved)."""
    window_started_at: float
    outcome: Outcome

    def to_json(self) -> str:
        # vars(), not dataclasses.asdict: the fields are flat, and asdict's deep copy costs more than the
        # rest of writing a record.
        return json.dumps(vars(self), separators=(",", ":"))

    @staticmethod
    def from_json(line: str) -> UsageRecord:
        return UsageRecord(**json.loads(line))


class UsageSink(Protocol):
    def append(self, record: UsageRecord) -> None: ...

    def records(self) -> list[UsageRecord]: ...


class MemoryLedger:
    """Records in memory (tests; a server that keeps no history)."""

    def __init__(self) -> None:
        self._records: list[UsageRecord] = []
        self._lock = threading.Lock()

    def append(self, record: UsageRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> list[UsageRecord]:
        with self._lock:
            return list(self._records)


class FileLedger:
    """Records appended to a JSON-lines file, one line per call, readable while the server runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._file = path.open("a")

    def append(self, record: UsageRecord) -> None:
        with self._lock:
            self._file.write(record.to_json() + "\n")
            self._file.flush()  # readers (usage totals, a restart) see every finished call

    def records(self) -> list[UsageRecord]:
        return list(read_ledger(self.path))


def read_ledger(path: Path) -> Iterator[UsageRecord]:
    """Records of a ledger file; a line cut short by a crash mid-write is skipped, not fatal."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return
    for line in lines:
        try:
            yield UsageRecord.from_json(line)
        except (ValueError, TypeError):
            continue


@dataclass(frozen=True)
class UsageTotal:
    key: str
    calls: int
    gpu_s: float
    quota_s: float


def summarize(records: Iterable[UsageRecord], by: GroupBy, *, since: float = 0.0) -> list[UsageTotal]:
    """GPU and quota seconds per visitor, Space or team for calls ended since ``since``, largest first."""
    calls: dict[str, int] = defaultdict(int)
    gpu: dict[str, float] = defaultdict(float)
    quota: dict[str, float] = defaultdict(float)
    for record in records:
        if record.ended_at < since:
            continue
        key = {"visitor": record.visitor, "space": record.space_id, "team": record.team or "-"}[by]
        calls[key] += 1
        gpu[key] += record.gpu_s
        quota[key] += record.quota_s
    totals = [UsageTotal(key, calls[key], gpu[key], quota[key]) for key in calls]
    return sorted(totals, key=lambda total: (-total.gpu_s, total.key))
