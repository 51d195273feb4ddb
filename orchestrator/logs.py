"""Build and run logs: append-only text files on disk, read back and followed as they grow.

Builds and runtimes write lines to a file; API clients read it from the start and, when following,
keep receiving new lines until the writer is done (``is_open`` turns false). Files, not memory, so a
log outlives a control-plane restart and a follower in any process sees the same thing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path


class LogWriter:
    """Appends lines to one log file; each ``write`` is flushed at once so followers see it."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a", encoding="utf-8", errors="replace")

    def write(self, text: str) -> None:
        if not text.endswith("\n"):
            text += "\n"
        self._file.write(text)
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> LogWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def timestamp() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def follow_lines(
    path: Path,
    *,
    follow: bool,
    is_open: Callable[[], bool],
    poll_seconds: float = 0.1,
    keepalive_seconds: float = 15.0,
) -> AsyncIterator[str | None]:
    """Yield the file's lines from the start; with ``follow``, keep yielding while ``is_open()``.

    Yields ``None`` as a keep-alive when nothing was written for ``keepalive_seconds``.
    A missing file is treated as empty (the writer may not have created it yet).
    """
    position = 0
    pending = b""
    quiet = 0.0
    while True:
        # Sampled before reading, so whatever the writer wrote before closing is in this read.
        still_open = follow and is_open()
        chunk = b""
        if path.exists():
            with path.open("rb") as handle:
                handle.seek(position)
                chunk = handle.read()
            position += len(chunk)
        if chunk:
            quiet = 0.0
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line.decode("utf-8", errors="replace") + "\n"
            continue
        if not still_open:
            if pending:
                yield pending.decode("utf-8", errors="replace") + "\n"
            return
        await asyncio.sleep(poll_seconds)
        quiet += poll_seconds
        if quiet >= keepalive_seconds:
            quiet = 0.0
            yield None
