"""Spaces: the Hub's repo endpoints (create, delete) and Space endpoints (info, list, runtime, restart)."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.api.deps import get_platform, get_session, optional_caller, require_caller
from orchestrator.api.schemas import CreateRepo, DeleteRepo
from orchestrator.auth import Caller
from orchestrator.control import spaces
from orchestrator.control.platform import Platform
from orchestrator.errors import InvalidInputError
from orchestrator.naming import image_repository
from orchestrator.stages import Stage
from orchestrator.state.models import Space

router = APIRouter(prefix="/api", tags=["spaces"])


def _only_spaces(repo_type: str) -> None:
    if repo_type != "space":
        raise InvalidInputError(f"This server hosts Spaces only; repo type {repo_type!r} is not supported.")


@router.post("/repos/create")
def create_repo(
    body: CreateRepo,
    caller: Caller = Depends(require_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> dict[str, Any]:
    _only_spaces(body.type)
    private = body.private if body.private is not None else body.visibility == "private"
    space = spaces.create_space(
        session,
        platform.repos,
        caller,
        owner=body.organization,
        name=body.name,
        sdk=body.sdk,
        private=private,
        hardware=body.hardware,
    )
    platform.reconciler.poke(space.id)
    return {
        "url": f"{platform.settings.effective_public_url}/spaces/{space.space_id}",
        "name": space.space_id,
        "id": space.id,
    }


@router.delete("/repos/delete")
async def delete_repo(
    body: DeleteRepo, caller: Caller = Depends(require_caller), platform: Platform = Depends(get_platform)
) -> dict[str, Any]:
    _only_spaces(body.type)
    with platform.sessions() as session:
        space = spaces.find_space_for_write(session, body.organization or caller.name, body.name, caller)
        space.stage = Stage.DELETING
        session.commit()
        space_pk, owner, name = space.id, space.owner, space.name
    await platform.reconciler.stop_space(space_pk)
    with platform.sessions() as session:
        row = session.get(Space, space_pk)
        if row is not None:
            session.delete(row)
            session.commit()
    await asyncio.to_thread(platform.repos.delete, owner, name)
    await platform.pipeline.engine.discard(image_repository=image_repository(owner, name))
    shutil.rmtree(platform.pipeline.work_dir / owner / name, ignore_errors=True)
    return {}


@router.get("/spaces")
def list_spaces(
    author: str | None = None,
    search: str | None = None,
    limit: int | None = None,
    caller: Caller | None = Depends(optional_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> list[dict[str, Any]]:
    query = select(Space).order_by(Space.created_at.desc())
    if author:
        query = query.where(func.lower(Space.owner) == author.lower())
    if search:
        query = query.where(Space.name.ilike(f"%{search}%"))
    visible = [
        s for s in session.scalars(query) if not s.private or (caller and caller.may_read_private_of(s.owner))
    ]
    return [spaces.space_view(s, platform.settings) for s in visible[: limit or None]]


@router.get("/spaces/{owner}/{name}")
def space_info(
    owner: str,
    name: str,
    caller: Caller | None = Depends(optional_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> dict[str, Any]:
    return spaces.space_view(spaces.find_space(session, owner, name, caller), platform.settings)


@router.get("/spaces/{owner}/{name}/runtime")
def space_runtime(
    owner: str,
    name: str,
    caller: Caller | None = Depends(optional_caller),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    return spaces.runtime_view(spaces.find_space(session, owner, name, caller))


@router.post("/spaces/{owner}/{name}/restart")
def restart_space(
    owner: str,
    name: str,
    factory: bool = False,
    caller: Caller = Depends(require_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> dict[str, Any]:
    space = spaces.find_space_for_write(session, owner, name, caller)
    spaces.request_restart(session, space, factory=factory)
    platform.reconciler.poke(space.id)
    return spaces.runtime_view(space)
