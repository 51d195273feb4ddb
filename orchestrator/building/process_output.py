"""Running a build command and streaming its output, line by line, into the build log."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path

from orchestrator.building.errors import BuildError
from orchestrator.logs import LogWriter


async def run_logged(
    command: Sequence[str],
    *,
    log: LogWriter,
    env: dict[str, str] | None = None,
    what: str,
    cwd: Path | None = None,
) -> None:
    """Run ``command``, copy its output into ``log`` as it comes, raise ``BuildError`` if it fails."""
    log.write("$ " + " ".join(command))
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    assert process.stdout is not None
    async for raw in process.stdout:
        log.write(raw.decode("utf-8", errors="replace").rstrip("\n"))
    code = await process.wait()
    if code != 0:
        raise BuildError(f"{what} failed (exit code {code}); see the build log above for its output.")
