"""Commits through the Hub's API: what ``create_commit`` sends, turned into a git commit on ``main``.

Owns the NDJSON commit payload (``header``, ``file``, ``lfsFile``, ``deletedFile``, ``deletedFolder``),
the preupload answer (which files go as ``regular`` and which as ``lfs``), and recording the new head
exactly as a ``git push`` does, so either one triggers a build. LFS files become pointer files plus a
``.gitattributes`` line; their content must already be in the LFS store (the batch API put it there).
The caller pokes the reconciler; nothing here touches a runtime.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.auth import Caller
from orchestrator.control import spaces
from orchestrator.errors import InvalidInputError, PreconditionFailedError, RevisionNotFoundError
from orchestrator.gitserver.lfs import Pointer
from orchestrator.gitserver.repos import AddFile, Author, Change, DeletePath, RepoStore
from orchestrator.state.models import Space

LFS_THRESHOLD = 10 * 1024 * 1024
"""Files of this size or more are uploaded as LFS, like the Hub (whose regular-file limit is 10 MB)."""

BRANCH = "main"


@dataclass(frozen=True)
class AddLfsFile:
    """An ``lfsFile`` line: ``path`` is to hold LFS object ``oid`` (``size`` is absent on copies)."""

    path: str
    oid: str
    size: int | None


@dataclass
class CommitRequest:
    """A parsed commit payload."""

    summary: str = ""
    description: str = ""
    parent: str | None = None
    changes: list[Change | AddLfsFile] = field(default_factory=list)


def parse_commit(lines: Iterable[bytes]) -> CommitRequest:
    """Pure: the NDJSON body of ``POST /api/spaces/{id}/commit/{revision}`` as a ``CommitRequest``."""
    request = CommitRequest()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
            key, value = item["key"], item["value"]
            if not isinstance(value, dict):
                raise TypeError("value is not an object")
            _add_item(request, key, value)
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise InvalidInputError(f"Invalid commit payload, line {number}: {exc}") from exc
    return request


def _add_item(request: CommitRequest, key: str, value: dict[str, Any]) -> None:
    if key == "header":
        request.summary = str(value.get("summary") or "")
        request.description = str(value.get("description") or "")
        parent = value.get("parentCommit")
        request.parent = str(parent) if parent else None
    elif key == "file":
        encoding = value.get("encoding", "base64")
        content = value["content"]
        if encoding == "base64":
            data = base64.b64decode(content, validate=True)
        elif encoding in ("utf-8", "utf8"):
            data = str(content).encode()
        else:
            raise ValueError(f"unknown encoding {encoding!r}")
        request.changes.append(AddFile(str(value["path"]), data))
    elif key == "lfsFile":
        if value.get("algo", "sha256") != "sha256":
            raise ValueError("only sha256 LFS objects are supported")
        size = value.get("size")
        request.changes.append(
            AddLfsFile(str(value["path"]), str(value["oid"]), None if size is None else int(size))
        )
    elif key in ("deletedFile", "deletedFolder"):
        request.changes.append(DeletePath(str(value["path"]), folder=key == "deletedFolder"))
    else:
        raise ValueError(f"unknown key {key!r}")


def upload_mode(size: int) -> str:
    return "lfs" if size >= LFS_THRESHOLD else "regular"


def preupload(repos: RepoStore, space: Space, revision: str, files: list[dict[str, Any]]) -> dict[str, Any]:
    """The Hub's preupload answer: how to send each file, and what the remote has at that path now
    (its blob oid, or its sha256 for an LFS file) so the client can skip unchanged files."""
    _check_branch(revision)
    head = repos.head(space.owner, space.name, BRANCH)
    remote: dict[str, str] = {}
    if head is not None:
        for entry in repos.tree(space.owner, space.name, head, recursive=True):
            if entry.type == "file":
                remote[entry.path] = entry.lfs.oid if entry.lfs else entry.oid
    answer = []
    for item in files:
        path = str(item.get("path", "")).strip("/")
        size = int(item.get("size") or 0)
        answer.append(
            {"path": path, "uploadMode": upload_mode(size), "shouldIgnore": False, "oid": remote.get(path)}
        )
    return {"files": answer, "commitOid": head}


def create_commit(
    session: Session, repos: RepoStore, space: Space, caller: Caller, revision: str, request: CommitRequest
) -> str:
    """Write ``request`` as a commit on ``main`` and record it as the Space's new head; its sha."""
    _check_branch(revision)
    head = repos.head(space.owner, space.name, BRANCH)
    if request.parent is not None and (head is None or not head.startswith(request.parent.lower())):
        raise PreconditionFailedError(
            f"A commit has happened since {request.parent}: the head of {BRANCH} is {head}."
            " Refresh and try again."
        )
    changes = [_materialise(repos, change) for change in request.changes]
    lfs_paths = [change.path for change in request.changes if isinstance(change, AddLfsFile)]
    if lfs_paths:
        changes.append(_gitattributes(repos, space, head, lfs_paths))
    message = request.summary or "Commit with the Hub API"
    if request.description:
        message = f"{message}\n\n{request.description}"
    sha = repos.commit(
        space.owner,
        space.name,
        changes=changes,
        message=message + "\n",
        author=Author(caller.name, f"{caller.name}@users.noreply.localhost"),
        parent=head,
    )
    spaces.record_push(session, space.owner, space.name, sha)
    return sha


def _check_branch(revision: str) -> None:
    if revision != BRANCH:
        raise RevisionNotFoundError(
            f"Revision {revision!r} not found: commits go to {BRANCH!r}, the only branch a Space builds."
        )


def _materialise(repos: RepoStore, change: Change | AddLfsFile) -> Change:
    """An ``lfsFile`` becomes its pointer file, once its content is known to be stored."""
    if not isinstance(change, AddLfsFile):
        return change
    oid = change.oid
    stored = repos.lfs.size(oid)
    if stored is None or (change.size is not None and change.size != stored):
        raise InvalidInputError(
            f"LFS object {oid} for {change.path} has not been uploaded: send it through the LFS batch API"
            " first (huggingface_hub does; with hf_xet installed set HF_HUB_DISABLE_XET=1)."
        )
    return AddFile(change.path, Pointer(oid, stored).render())


def _gitattributes(repos: RepoStore, space: Space, head: str | None, paths: list[str]) -> AddFile:
    current = b""
    if head is not None:
        current = repos.read_file(space.owner, space.name, head, ".gitattributes") or b""
    lines = current.decode(errors="replace").splitlines()
    for path in paths:
        rule = f"{path.strip('/').replace(' ', '[[:space:]]')} filter=lfs diff=lfs merge=lfs -text"
        if rule not in lines:
            lines.append(rule)
    return AddFile(".gitattributes", ("\n".join(lines) + "\n").encode())
