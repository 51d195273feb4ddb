"""The Hub's repository endpoints beyond create/delete: move, visibility, duplicate, info at a
revision (with the file list), and README metadata validation.

Thin: visibility, copies and renames are ``control`` use cases; this module only stops and pokes the
reconciler around them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import yaml
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from orchestrator.api.deps import get_platform, get_session, optional_caller, require_caller
from orchestrator.api.routers.hub_models import (
    DuplicateSpace,
    MoveRepo,
    RepoSettings,
    RepoUrlResponse,
    ValidateYaml,
)
from orchestrator.auth import Caller
from orchestrator.control import space_settings, spaces, transfers
from orchestrator.control.platform import Platform
from orchestrator.errors import InvalidInputError
from orchestrator.gitserver.repos import RepoStore
from orchestrator.naming import split_space_id
from orchestrator.settings import Settings
from orchestrator.state.models import Space

router = APIRouter(prefix="/api", tags=["spaces"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request"},
    401: {"description": "Missing or invalid token"},
    403: {"description": "No write access"},
    404: {"description": "No such Space (or it is private)"},
    409: {"description": "The target already exists"},
}


def siblings(repos: RepoStore, space: Space, commit: str | None) -> list[dict[str, Any]]:
    """The Hub's ``siblings``: every file of ``commit`` with its size, blob id and LFS info."""
    if commit is None:
        return []
    result = []
    for entry in repos.tree(space.owner, space.name, commit, recursive=True):
        if entry.type != "file":
            continue
        item: dict[str, Any] = {"rfilename": entry.path, "size": entry.size, "blobId": entry.oid}
        if entry.lfs is not None:
            item["size"] = entry.lfs.size
            item["lfs"] = {"size": entry.lfs.size, "sha256": entry.lfs.oid, "pointerSize": entry.size}
        result.append(item)
    return result


def space_info_at(repos: RepoStore, settings: Settings, space: Space, revision: str) -> dict[str, Any]:
    sha = repos.resolve(space.owner, space.name, revision)
    return {**spaces.space_view(space, settings), "sha": sha, "siblings": siblings(repos, space, sha)}


def _private(private: bool | None, visibility: str | None) -> bool | None:
    if visibility is not None:
        if visibility not in ("public", "private", "protected"):
            raise InvalidInputError(f"Unknown visibility {visibility!r}: use public or private.")
        return visibility == "private"
    return private


@router.get("/spaces/{owner}/{name}/revision/{revision}", responses=_ERRORS)
def space_info_at_revision(
    owner: str,
    name: str,
    revision: str,
    caller: Caller | None = Depends(optional_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> dict[str, Any]:
    space = spaces.find_space(session, owner, name, caller)
    return space_info_at(platform.repos, platform.settings, space, revision)


@router.put("/spaces/{owner}/{name}/settings", responses=_ERRORS)
def update_settings(
    owner: str,
    name: str,
    body: RepoSettings,
    caller: Caller = Depends(require_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> dict[str, Any]:
    space = spaces.find_space_for_write(session, owner, name, caller)
    private = _private(body.private, body.visibility)
    if private is not None:
        space_settings.set_private(session, space, private)
        platform.reconciler.poke(space.id)  # the proxy's route carries who may see the app
    return {}


@router.post("/spaces/{owner}/{name}/duplicate", response_model=RepoUrlResponse, responses=_ERRORS)
def duplicate_space(
    owner: str,
    name: str,
    body: DuplicateSpace,
    caller: Caller = Depends(require_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> dict[str, Any]:
    source = spaces.find_space(session, owner, name, caller)
    space = transfers.duplicate_space(
        session,
        platform.repos,
        caller,
        source,
        to_id=body.repository,
        private=_private(body.private, body.visibility),
        hardware=body.hardware,
        sleep_time=body.sleepTimeSeconds,
        storage=body.storageTier,
        secrets=body.secrets,
        variables=body.variables,
    )
    platform.reconciler.poke(space.id)
    url = f"{platform.settings.effective_public_url}/spaces/{space.space_id}"
    return {"url": url, "name": space.space_id, "id": space.id}


@router.post("/repos/move", responses=_ERRORS)
async def move_repo(
    body: MoveRepo, caller: Caller = Depends(require_caller), platform: Platform = Depends(get_platform)
) -> dict[str, Any]:
    if body.type != "space":
        raise InvalidInputError(f"This server hosts Spaces only; repo type {body.type!r} is not supported.")
    from_owner, from_name = split_space_id(body.fromRepo)
    with platform.sessions() as session:
        space = spaces.find_space_for_write(session, from_owner, from_name, caller)
        to_owner, to_name = transfers.check_move(session, caller, space, body.toRepo)
        space_pk = space.id
    await platform.reconciler.stop_space(space_pk)
    try:
        with platform.sessions() as session:
            row = session.get_one(Space, space_pk)
            await asyncio.to_thread(
                transfers.move_space, session, platform.repos, caller, row, to_owner, to_name
            )
    finally:  # moved or not (a name taken meanwhile), the Space starts again
        platform.reconciler.poke(space_pk)
    return {}


@router.post("/validate-yaml", responses={400: {"description": "Invalid metadata"}})
def validate_yaml(body: ValidateYaml) -> Any:
    """Check a README's YAML front matter parses to a mapping, as the Hub does before a commit."""
    text = body.content
    problems: list[dict[str, str]] = []
    if text.startswith("---"):
        front, _, _ = text[3:].partition("\n---")
        try:
            data = yaml.safe_load(front)
        except yaml.YAMLError as exc:
            problems.append({"message": f"Invalid YAML in the front matter: {exc}"})
        else:
            if data is not None and not isinstance(data, dict):
                problems.append({"message": "The front matter must be a mapping of keys to values."})
    if problems:
        return JSONResponse({"error": problems[0]["message"], "errors": problems}, status_code=400)
    return {"errors": [], "warnings": []}
