"""The runtime's side of ZeroGPU enforcement: whose process a worker is, and ending it.

The scheduler decides when a call's worker must end (past its duration and grace, after a failed call,
or to free a device for someone else); the runtime that started the Space does it, through
``WorkerControl``. The pid comes from the app (``/allow?pid=``), so it is never trusted as is: the
runtime first checks the process belongs to the calling Space, otherwise a Space could name another
Space's (or the platform's) process and have it killed.

``LocalProcessWorkers`` serves the process runtime: a Space's workers are its app process and that
process's descendants (the client forks them). A container runtime implements the same three methods
with the container's pid namespace and cgroup.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import Protocol

log = logging.getLogger("orchestrator.zerogpu")

PROC = Path("/proc")
_MAX_DEPTH = 64


class WorkerControl(Protocol):
    def owns(self, space_id: str, pid: int) -> bool:
        """Whether ``pid`` is a live process of the Space's app."""
        ...

    def alive(self, space_id: str, pid: int) -> bool:
        """Whether the worker still runs (a recycled pid of someone else counts as gone)."""
        ...

    def end(self, space_id: str, pid: int) -> None:
        """End the worker and whatever it started; a process not of this Space is left alone."""
        ...


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = (PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    # The command name in parentheses may hold spaces and parentheses; fields resume after the last ")".
    return stat.rpartition(b")")[2].decode().split()


def parent_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 2 or fields[0] in ("Z", "X"):
        return None
    return int(fields[1])


def descends_from(pid: int, root: int) -> bool:
    """Whether ``pid`` is ``root`` or one of its descendants, by the kernel's parent links."""
    current: int | None = pid
    for _ in range(_MAX_DEPTH):
        if current is None or current <= 1:
            return False
        if current == root:
            return True
        current = parent_of(current)
    return False


def children_of(pid: int) -> list[int]:
    children = []
    for entry in PROC.iterdir():
        if entry.name.isdigit() and parent_of(int(entry.name)) == pid:
            children.append(int(entry.name))
    return children


class LocalProcessWorkers:
    """Workers of Spaces run as local processes: each Space is bound to its app's pid."""

    def __init__(self) -> None:
        self._roots: dict[str, int] = {}

    def bind(self, space_id: str, app_pid: int) -> None:
        self._roots[space_id] = app_pid

    def unbind(self, space_id: str) -> None:
        self._roots.pop(space_id, None)

    def owns(self, space_id: str, pid: int) -> bool:
        root = self._roots.get(space_id)
        return root is not None and pid > 1 and descends_from(pid, root)

    def alive(self, space_id: str, pid: int) -> bool:
        return self.owns(space_id, pid)

    def end(self, space_id: str, pid: int) -> None:
        if not self.owns(space_id, pid):
            return
        # Children first, so none is re-parented out of the Space's tree before it is reached.
        doomed: list[int] = []
        pending = [pid]
        while pending:
            current = pending.pop()
            doomed.append(current)
            pending.extend(children_of(current))
        for victim in reversed(doomed):
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                continue
            except PermissionError:
                log.warning("ZeroGPU: not allowed to end worker %s of %s", victim, space_id)
