"""Serving a static Space: files from a folder on the control plane's disk, answered by the proxy itself.

Owns mapping a request path to a file under the route's ``static_root`` without ever leaving it (no
``..``, no symlink out, no hidden ``.git``), index files for folders, content types, validators
(``ETag``, ``Last-Modified``, ``304 Not Modified``), ``HEAD``, and the 404 and 405 answers. Bodies are
streamed in chunks from a thread, never read whole. It knows nothing of routing or Spaces.
"""

from __future__ import annotations

import asyncio
import email.utils
import mimetypes
import os
from pathlib import Path
from urllib.parse import unquote

from starlette.types import Receive, Scope, Send

from orchestrator.proxy import pages
from orchestrator.proxy.routes import Route, Unavailable

CHUNK_BYTES = 256 * 1024
_HIDDEN = frozenset({".git", ".spaces", "node_modules"})


def not_found(path: str) -> Unavailable:
    return Unavailable(404, "Not found", f"This Space has no file at {path}.")


def resolve(root: Path, raw_path: str, index: str) -> Path | None:
    """The file ``raw_path`` names under ``root`` (a folder's ``index``), or None if it is not there."""
    parts = [part for part in unquote(raw_path).split("/") if part not in ("", ".")]
    if any(part == ".." or part in _HIDDEN or "\x00" in part or "\\" in part for part in parts):
        return None
    base = root.resolve()
    candidate = (base.joinpath(*parts)).resolve()
    if not candidate.is_relative_to(base):
        return None  # a symlink leading out of the folder
    if candidate.is_dir():
        candidate = (candidate / (index if not parts else "index.html")).resolve()
        if not candidate.is_relative_to(base):
            return None
    return candidate if candidate.is_file() else None


def content_type(path: Path) -> bytes:
    kind, encoding = mimetypes.guess_type(path.name)
    if kind is None or encoding is not None:
        kind = "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json", "image/svg+xml"):
        kind += "; charset=utf-8"
    return kind.encode()


def _etag(stat: os.stat_result) -> bytes:
    return f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'.encode()


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _not_modified(scope: Scope, etag: bytes, mtime: float) -> bool:
    if_none_match = _header(scope, b"if-none-match")
    if if_none_match is not None:
        return etag in [tag.strip().removeprefix(b"W/") for tag in if_none_match.split(b",")]
    if_modified_since = _header(scope, b"if-modified-since")
    if if_modified_since is not None:
        try:
            since = email.utils.parsedate_to_datetime(if_modified_since.decode("latin-1")).timestamp()
        except (TypeError, ValueError):
            return False
        return int(mtime) <= since
    return False


async def serve(scope: Scope, receive: Receive, send: Send, route: Route) -> tuple[int, int]:
    """Answer one request for a static route (a WebSocket is refused); returns the status and the
    number of body bytes sent, for the metrics."""
    if scope["type"] != "http":
        missing = not_found(scope["path"])
        await pages.deny_websocket(scope, send, missing)
        return missing.status_code, 0
    method = scope["method"]
    if method not in ("GET", "HEAD"):
        refused = Unavailable(405, "Method not allowed", "A static Space answers GET and HEAD only.")
        await pages.send_http(scope, send, refused)
        return refused.status_code, 0
    assert route.static_root is not None
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope["path"]
    file = await asyncio.to_thread(resolve, Path(route.static_root), path, route.index)
    if file is None:
        missing = not_found(scope["path"])
        await pages.send_http(scope, send, missing)
        return missing.status_code, 0
    stat = await asyncio.to_thread(file.stat)
    etag = _etag(stat)
    headers = [
        (b"etag", etag),
        (b"last-modified", email.utils.formatdate(stat.st_mtime, usegmt=True).encode()),
        (b"cache-control", b"no-cache"),
        *route.response_headers,
    ]
    if _not_modified(scope, etag, stat.st_mtime):
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return 304, 0
    headers += [(b"content-type", content_type(file)), (b"content-length", str(stat.st_size).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if method == "HEAD":
        await send({"type": "http.response.body", "body": b""})
        return 200, 0
    sent = 0
    with file.open("rb") as handle:
        while True:
            chunk = await asyncio.to_thread(handle.read, CHUNK_BYTES)
            if not chunk:
                break
            sent += len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
    return 200, sent
