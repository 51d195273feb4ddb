"""The Git LFS batch API of Space repos, for ``huggingface_hub`` uploads and the ``git lfs`` client.

``POST /spaces/{owner}/{name}.git/info/lfs/objects/batch`` answers with ``basic`` transfer actions whose
``href`` are signed URLs of this server (the client PUTs the bytes there with no credentials, as it
would to S3), so a link is only good for the object, size and operation it was made for, for an hour.
Objects land in the ``RepoStore``'s LFS store, verified against their sha256.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from orchestrator.api.deps import get_platform
from orchestrator.api.routers.hub_files import base_url
from orchestrator.api.routers.hub_models import LfsBatchRequest
from orchestrator.auth import Caller, resolve_token
from orchestrator.control import spaces
from orchestrator.control.platform import Platform
from orchestrator.errors import AuthError, ForbiddenError, InvalidInputError, NotFoundError
from orchestrator.gitserver.lfs import valid_oid

router = APIRouter(tags=["lfs"])
LFS_JSON = "application/vnd.git-lfs+json"
_LINK_SECONDS = 3600


def _secret(data_dir: Path) -> bytes:
    """The key that signs transfer links, made once per data directory (so links survive restarts)."""
    path = data_dir / "lfs_link_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def _sign(key: bytes, operation: str, oid: str, size: int, expires: int) -> str:
    message = f"{operation}:{oid}:{size}:{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _check_link(key: bytes, operation: str, oid: str, size: int, expires: int, sig: str) -> None:
    if expires < time.time() or not hmac.compare_digest(
        _sign(key, operation, oid, size, expires).encode(), sig.encode(errors="replace")
    ):
        raise ForbiddenError("This transfer link is invalid or has expired: ask the batch API for a new one.")


def _caller(request: Request, platform: Platform) -> Caller | None:
    """Bearer (huggingface_hub) or Basic with the token as password (git lfs)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    token: str | None = None
    if scheme.lower() == "bearer":
        token = value.strip()
    elif scheme.lower() == "basic":
        try:
            token = base64.b64decode(value.strip()).decode().partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            token = None
    if not token:
        return None
    with platform.sessions() as session:
        return resolve_token(session, token)


def _link(request: Request, key: bytes, operation: str, oid: str, size: int) -> dict[str, Any]:
    expires = int(time.time()) + _LINK_SECONDS
    sig = _sign(key, operation, oid, size, expires)
    href = f"{base_url(request)}/api/lfs/objects/{oid}?size={size}&expires={expires}&sig={sig}"
    return {"href": href, "expires_in": _LINK_SECONDS}


@router.post(
    "/spaces/{owner}/{name}/info/lfs/objects/batch",
    responses={401: {"description": "Missing token"}, 404: {"description": "No such Space"}},
)
def batch(
    owner: str, name: str, body: LfsBatchRequest, request: Request, platform: Platform = Depends(get_platform)
) -> Response:
    name = name.removesuffix(".git")
    caller = _caller(request, platform)
    with platform.sessions() as session:
        if body.operation == "upload":
            if caller is None:
                raise AuthError("Uploading LFS objects needs a write token.")
            spaces.find_space_for_write(session, owner, name, caller)
        elif body.operation == "download":
            spaces.find_space(session, owner, name, caller)
        else:
            raise InvalidInputError(f"Unknown LFS operation {body.operation!r}: use upload or download.")
    key = _secret(platform.settings.data_dir)
    store = platform.repos.lfs
    objects: list[dict[str, Any]] = []
    for obj in body.objects:
        item: dict[str, Any] = {"oid": obj.oid, "size": obj.size, "authenticated": True}
        if not valid_oid(obj.oid):
            item["error"] = {"code": 422, "message": "Invalid object id: expected a sha256 in lowercase hex."}
        elif body.operation == "upload":
            if not store.has(obj.oid, obj.size):
                item["actions"] = {
                    "upload": _link(request, key, "upload", obj.oid, obj.size),
                    "verify": _link(request, key, "verify", obj.oid, obj.size),
                }
        elif store.has(obj.oid, obj.size):
            item["actions"] = {"download": _link(request, key, "download", obj.oid, obj.size)}
        else:
            item["error"] = {"code": 404, "message": "Object does not exist on the server."}
        objects.append(item)
    return JSONResponse({"transfer": "basic", "objects": objects, "hash_algo": "sha256"}, media_type=LFS_JSON)


@router.put("/api/lfs/objects/{oid}", responses={403: {"description": "Invalid link"}})
async def upload_object(
    oid: str, size: int, expires: int, sig: str, request: Request, platform: Platform = Depends(get_platform)
) -> dict[str, Any]:
    _check_link(_secret(platform.settings.data_dir), "upload", oid, size, expires, sig)
    chunks = [chunk async for chunk in request.stream()]
    await asyncio.to_thread(platform.repos.lfs.write, oid, size, chunks)
    return {}


@router.post("/api/lfs/objects/{oid}", responses={403: {"description": "Invalid link"}})
def verify_object(
    oid: str, size: int, expires: int, sig: str, platform: Platform = Depends(get_platform)
) -> dict[str, Any]:
    _check_link(_secret(platform.settings.data_dir), "verify", oid, size, expires, sig)
    if not platform.repos.lfs.has(oid, size):
        raise NotFoundError(f"LFS object {oid} ({size} bytes) was not uploaded.")
    return {}


@router.get("/api/lfs/objects/{oid}", responses={403: {"description": "Invalid link"}})
def download_object(
    oid: str, size: int, expires: int, sig: str, platform: Platform = Depends(get_platform)
) -> Response:
    _check_link(_secret(platform.settings.data_dir), "download", oid, size, expires, sig)
    if not platform.repos.lfs.has(oid, size):
        raise NotFoundError(f"LFS object {oid} not found.")
    return FileResponse(platform.repos.lfs.path(oid), media_type="application/octet-stream")
