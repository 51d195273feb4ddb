"""Spaces: the Hub's repo endpoints (create, delete) and Space endpoints (info, list, runtime, restart)."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.api.deps import get_platform, get_session, optional_caller, require_caller
from orchestrator.api.routers import hub_repos
from orchestrator.api.routers.hub_files import base_url
from orchestrator.api.schemas import CreateRepo, DeleteRepo
from orchestrator.auth import Caller
from orchestrator.control import space_settings, spaces
from orchestrator.control.platform import Platform
from orchestrator.errors import ConflictError, InvalidInputError
from orchestrator.naming import image_repository
from orchestrator.stages import Stage
from orchestrator.state.models import Space

router = APIRouter(prefix="/api", tags=["spaces"])

_SORTS = {
    "createdAt": Space.created_at,
    "lastModified": Space.updated_at,
    "likes": Space.created_at,  # no likes here: newest first
    "trendingScore": Space.updated_at,
}


def _only_spaces(repo_type: str) -> None:
    if repo_type != "space":
        raise InvalidInputError(f"This server hosts Spaces only; repo type {repo_type!r} is not supported.")


@router.post("/repos/create", responses={409: {"description": "The Space already exists"}})
def create_repo(
    body: CreateRepo,
    request: Request,
    caller: Caller = Depends(require_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> Any:
    _only_spaces(body.type)
    private = body.private if body.private is not None else body.visibility == "private"
    url = f"{base_url(request)}/spaces/{body.organization or caller.name}/{body.name}"
    settings = space_settings.initial_settings(
        secrets=body.secrets,
        variables=body.variables,
        sleep_time=body.sleepTimeSeconds,
        storage=body.storageTier,
    )
    try:
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
    except ConflictError as exc:
        # huggingface_hub's ``exist_ok`` swallows the 409 and reads ``url`` from its body.
        return JSONResponse(
            {"error": exc.message, "url": url}, status_code=409, headers={"X-Error-Message": exc.message}
        )
    if settings:
        space.settings = {**space.settings, **settings}
        session.commit()
    platform.reconciler.poke(space.id)
    return {"url": f"{base_url(request)}/spaces/{space.space_id}", "name": space.space_id, "id": space.id}


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
    limit: int | None = Query(default=None, ge=0),
    sort: str | None = None,
    direction: int | None = None,
    caller: Caller | None = Depends(optional_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> list[dict[str, Any]]:
    column = _SORTS.get(sort or "createdAt")
    if column is None:
        raise InvalidInputError(f"Unknown sort {sort!r}: use one of {', '.join(_SORTS)}.")
    query = select(Space).order_by(column.asc() if direction == 1 else column.desc(), Space.id)
    if author:
        query = query.where(func.lower(Space.owner) == author.lower())
    if search:
        query = query.where((Space.owner + "/" + Space.name).ilike(f"%{search}%"))
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
    space = spaces.find_space(session, owner, name, caller)
    return (
        hub_repos.space_info_at(platform.repos, platform.settings, space, "main")
        if space.desired_sha
        else {
            **spaces.space_view(space, platform.settings),
            "siblings": [],
        }
    )


@router.get("/spaces/{owner}/{name}/runtime")
def space_runtime(
    owner: str,
    name: str,
    caller: Caller | None = Depends(optional_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> dict[str, Any]:
    return spaces.runtime_view(spaces.find_space(session, owner, name, caller), platform.settings)


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
    return spaces.runtime_view(space, platform.settings)
