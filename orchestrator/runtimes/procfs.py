"""Observe and signal local processes by pid, including ones started by an earlier control plane.

Owns the ``/proc`` reading behind ``ProcessRuntime.status``: a pid counts as an instance only while it
is alive, not a zombie, and carries the instance's marker in its command line or environment, so a
recycled pid is never mistaken for it. It starts nothing and keeps no state.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

PROC = Path("/proc")


def marker(instance_id: str) -> str:
    """The environment entry every process of an instance carries."""
    return f"SPACES_INSTANCE_ID={instance_id}"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def is_zombie(pid: int) -> bool:
    stat = _read(PROC / str(pid) / "stat")
    # The command name in parentheses may hold spaces; the state follows the last ")".
    _, _, rest = stat.rpartition(b")")
    return rest.strip()[:1] in (b"Z", b"X")


def is_instance(pid: int, instance_id: str) -> bool:
    """Whether ``pid`` is alive and is the process of ``instance_id``."""
    if pid <= 0 or not (PROC / str(pid)).exists() or is_zombie(pid):
        return False
    wanted_arg = f"--instance={instance_id}".encode()
    arguments = _read(PROC / str(pid) / "cmdline").split(b"\0")
    if wanted_arg in arguments:
        return True
    return marker(instance_id).encode() in _read(PROC / str(pid) / "environ").split(b"\0")


def signal_group(pid: int, signum: signal.Signals) -> bool:
    """Send ``signum`` to the process group led by ``pid``; False when no such group exists."""
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True
