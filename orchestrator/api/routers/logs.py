"""Build and run logs as server-sent events, at the Hub's paths and in its event format.

Each event is ``data: {"data": "<line>\\n", "timestamp": "<ISO>"}``; an empty ``data:`` is a keep-alive.
The stream replays the log from its start; with ``follow`` (the default) it continues while the build
runs or the instance lives, then ends.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.api.deps import get_platform, get_session, require_caller
from orchestrator.auth import Caller
from orchestrator.control import spaces
from orchestrator.control.platform import Platform
from orchestrator.logs import follow_lines, timestamp
from orchestrator.state.models import Build, Instance

router = APIRouter(prefix="/api/spaces", tags=["logs"])


async def _events(path: Path | None, *, follow: bool, is_open: Callable[[], bool]) -> AsyncIterator[bytes]:
    if path is None:
        return
    async for line in follow_lines(path, follow=follow, is_open=is_open):
        if line is None:
            yield b"data:\n\n"
        else:
            yield b"data: " + json.dumps({"data": line, "timestamp": timestamp()}).encode() + b"\n\n"


def _sse(events: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/{owner}/{name}/logs/build")
def build_logs(
    owner: str,
    name: str,
    follow: bool = True,
    caller: Caller = Depends(require_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> StreamingResponse:
    space = spaces.find_space(session, owner, name, caller)
    build = session.scalars(select(Build).where(Build.space_id == space.id).order_by(Build.id.desc())).first()
    build_id = build.id if build else None

    def is_open() -> bool:
        with platform.sessions() as s:
            row = s.get(Build, build_id)
            return row is not None and row.status == "running"

    return _sse(_events(Path(build.log_path) if build else None, follow=follow, is_open=is_open))


@router.get("/{owner}/{name}/logs/run")
def run_logs(
    owner: str,
    name: str,
    follow: bool = True,
    caller: Caller = Depends(require_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> StreamingResponse:
    space = spaces.find_space(session, owner, name, caller)
    rows = session.scalars(
        select(Instance).where(Instance.space_id == space.id).order_by(Instance.started_at.desc())
    )
    chosen = next((r for r in rows if r.state == "serving"), None)
    if chosen is None:
        chosen = session.scalars(
            select(Instance).where(Instance.space_id == space.id).order_by(Instance.started_at.desc())
        ).first()
    instance_id = chosen.id if chosen else None

    def is_open() -> bool:
        with platform.sessions() as s:
            row = s.get(Instance, instance_id)
            return row is not None and row.state in ("starting", "serving")

    return _sse(_events(Path(chosen.log_path) if chosen else None, follow=follow, is_open=is_open))
