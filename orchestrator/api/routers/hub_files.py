"""A Space repository's files through the Hub's API: tree, paths-info, download (``resolve``),
preupload and commit.

A commit here is the same thing as a ``git push``: ``control.commits`` records the new head and this
module pokes the reconciler, so either one builds, and a clone sees API commits. Downloads answer with
the headers ``hf_hub_download`` relies on (``X-Repo-Commit``, ``ETag``, ``X-Linked-Etag`` for LFS files).
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session

from orchestrator.api.deps import get_platform, get_session, optional_caller, require_caller
from orchestrator.api.routers.hub_models import CommitResponse, PreuploadRequest, PreuploadResponse
from orchestrator.auth import Caller
from orchestrator.control import commits, spaces
from orchestrator.control.platform import Platform
from orchestrator.errors import EntryNotFoundError, InvalidInputError, NotFoundError
from orchestrator.gitserver.repos import RepoStore, TreeEntry
from orchestrator.state.models import Space

router = APIRouter(tags=["files"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid request"},
    401: {"description": "Missing or invalid token"},
    403: {"description": "No write access"},
    404: {"description": "No such Space, revision or file"},
    412: {"description": "parentCommit is no longer the head of the branch"},
}


def base_url(request: Request) -> str:
    """The address the client used for us: URLs we return must start with its endpoint."""
    return str(request.base_url).rstrip("/")


def _entry_json(entry: TreeEntry) -> dict[str, Any]:
    item: dict[str, Any] = {"type": entry.type, "oid": entry.oid, "size": entry.size, "path": entry.path}
    if entry.lfs is not None:
        item["size"] = entry.lfs.size
        item["lfs"] = {"oid": entry.lfs.oid, "size": entry.lfs.size, "pointerSize": entry.size}
    return item


def _commit_of(repos: RepoStore, space: Space, revision: str) -> str:
    return repos.resolve(space.owner, space.name, revision)


@router.get("/api/spaces/{owner}/{name}/tree/{revision}", responses=_ERRORS)
@router.get("/api/spaces/{owner}/{name}/tree/{revision}/{path:path}", responses=_ERRORS)
def list_tree(
    owner: str,
    name: str,
    revision: str,
    path: str = "",
    recursive: bool = False,
    caller: Caller | None = Depends(optional_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> list[dict[str, Any]]:
    space = spaces.find_space(session, owner, name, caller)
    commit = _commit_of(platform.repos, space, revision)
    entries = platform.repos.tree(space.owner, space.name, commit, path, recursive=recursive)
    return [_entry_json(e) for e in entries]


@router.post("/api/spaces/{owner}/{name}/paths-info/{revision}", responses=_ERRORS)
async def paths_info(
    owner: str,
    name: str,
    revision: str,
    request: Request,
    caller: Caller | None = Depends(optional_caller),
    platform: Platform = Depends(get_platform),
) -> list[dict[str, Any]]:
    """The entries at the given ``paths`` (form or JSON body); paths that do not exist are left out."""
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            paths = [str(p) for p in json.loads(raw or b"{}").get("paths", [])]
        except (ValueError, AttributeError) as exc:
            raise InvalidInputError(f"Invalid JSON body: {exc}") from exc
    else:
        paths = parse_qs(raw.decode(errors="replace")).get("paths", [])
    with platform.sessions() as session:
        space = spaces.find_space(session, owner, name, caller)
        commit = _commit_of(platform.repos, space, revision)
        found = []
        for path in paths:
            try:
                found.append(_entry_json(platform.repos.entry(space.owner, space.name, commit, path)))
            except NotFoundError:
                continue
        return found


@router.post(
    "/api/spaces/{owner}/{name}/preupload/{revision}", response_model=PreuploadResponse, responses=_ERRORS
)
def preupload(
    owner: str,
    name: str,
    revision: str,
    body: PreuploadRequest,
    caller: Caller = Depends(require_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> dict[str, Any]:
    space = spaces.find_space_for_write(session, owner, name, caller)
    files = [f.model_dump() for f in body.files]
    return commits.preupload(platform.repos, space, revision, files)


@router.post(
    "/api/spaces/{owner}/{name}/commit/{revision}",
    response_model=CommitResponse,
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
            },
            "description": "One JSON object a line: header, file, lfsFile, deletedFile, deletedFolder.",
        }
    },
)
async def create_commit(
    owner: str,
    name: str,
    revision: str,
    request: Request,
    caller: Caller = Depends(require_caller),
    platform: Platform = Depends(get_platform),
) -> dict[str, Any]:
    body = await request.body()
    parsed = commits.parse_commit(body.splitlines())
    with platform.sessions() as session:
        space = spaces.find_space_for_write(session, owner, name, caller)
        sha = await asyncio.to_thread(
            commits.create_commit, session, platform.repos, space, caller, revision, parsed
        )
        space_pk, space_id = space.id, space.space_id
    platform.reconciler.poke(space_pk)
    return {
        "success": True,
        "commitOid": sha,
        "commitUrl": f"{base_url(request)}/spaces/{space_id}/commit/{sha}",
        "hookOutput": "",
        "pullRequestUrl": None,
    }


@router.get("/api/spaces/{owner}/{name}/xet-write-token/{revision}", responses=_ERRORS)
@router.get("/api/spaces/{owner}/{name}/xet-read-token/{revision}", responses=_ERRORS)
def xet_token(owner: str, name: str, revision: str) -> dict[str, Any]:
    raise InvalidInputError(
        "This server does not speak Xet: large files go through Git LFS. Set HF_HUB_DISABLE_XET=1"
        " (or uninstall hf_xet) so huggingface_hub uploads them with LFS."
    )


@router.api_route(
    "/spaces/{owner}/{name}/resolve/{revision}/{path:path}",
    methods=["GET", "HEAD"],
    responses={**_ERRORS, 200: {"description": "The file's content"}},
)
def resolve_file(
    owner: str,
    name: str,
    revision: str,
    path: str,
    request: Request,
    caller: Caller | None = Depends(optional_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> Response:
    space = spaces.find_space(session, owner, name, caller)
    repos = platform.repos
    commit = _commit_of(repos, space, revision)
    entry = repos.entry(space.owner, space.name, commit, path)
    if entry.type != "file":
        raise EntryNotFoundError(f"{path} is a folder, not a file.")
    media_type = mimetypes.guess_type(entry.path)[0] or "application/octet-stream"
    headers = {"X-Repo-Commit": commit, "Accept-Ranges": "bytes"}
    if entry.lfs is not None and repos.lfs.has(entry.lfs.oid):
        headers |= {
            "ETag": f'"{entry.lfs.oid}"',
            "X-Linked-Etag": f'"{entry.lfs.oid}"',
            "X-Linked-Size": str(entry.lfs.size),
        }
        return FileResponse(repos.lfs.path(entry.lfs.oid), headers=headers, media_type=media_type)
    headers["ETag"] = f'"{entry.oid}"'
    if request.method == "HEAD":
        return Response(headers={**headers, "Content-Length": str(entry.size)}, media_type=media_type)
    content = repos.read_file(space.owner, space.name, commit, entry.path) or b""
    return Response(content, headers=headers, media_type=media_type)
