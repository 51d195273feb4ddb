"""git's smart HTTP protocol for Space repositories, served by running ``git http-backend`` as CGI.

Owns the routes ``/spaces/{owner}/{name}[.git]/{info/refs,git-upload-pack,git-receive-pack,HEAD}``:
it reads the credentials (HTTP Basic password or Bearer token), asks the ``authorize`` callback, and
streams the request into ``git http-backend`` and its answer back, never holding a pack in memory.
After a push that moved ``refs/heads/main`` it calls ``on_push``. It does not know how tokens map to
users or rights, nor what a push triggers: both are the callbacks' business.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter, Request, Response
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from orchestrator.gitserver.repos import RepoStore, git_env

log = logging.getLogger(__name__)

_SERVICES = ("git-upload-pack", "git-receive-pack")
_CHUNK = 64 * 1024
_STDERR_KEPT = 16 * 1024


@dataclass(frozen=True)
class GitRequest:
    """One git HTTP request, as the authorize callback sees it."""

    owner: str
    name: str
    write: bool
    token: str | None


@dataclass(frozen=True)
class Decision:
    """The authorize callback's answer; build it with the class methods."""

    kind: Literal["allow", "need_credentials", "deny", "not_found"]
    message: str = ""
    user: str | None = None

    @classmethod
    def allow(cls, user: str | None = None) -> Decision:
        """Serve the request; ``user`` (if known) is recorded as the CGI ``REMOTE_USER``."""
        return cls("allow", user=user)

    @classmethod
    def need_credentials(cls) -> Decision:
        """401 with a Basic challenge, so that git asks its credential helper and retries."""
        return cls("need_credentials")

    @classmethod
    def deny(cls, message: str) -> Decision:
        """Refuse; git prints ``remote error: <message>``."""
        return cls("deny", message=message)

    @classmethod
    def not_found(cls) -> Decision:
        return cls("not_found")


Authorize = Callable[[GitRequest], Awaitable[Decision]]
OnPush = Callable[[str, str, str | None, str | None], Awaitable[None]]
"""``on_push(owner, name, old_main_sha, new_main_sha)``; a sha is ``None`` where main did not exist."""


def make_git_router(*, store: RepoStore, authorize: Authorize, on_push: OnPush) -> APIRouter:
    """The routes that let ``git clone`` and ``git push`` reach the repositories in ``store``.

    ``on_push`` runs after git has updated the refs and before the push's HTTP response ends, so a
    ``git push`` returns only once it has: keep it short (record the push, queue a build). Pushes to
    one repository are served one at a time, so the old and new shas it gets belong to that push.
    Its exceptions are logged, never shown to git (the push itself has succeeded).
    """
    router = APIRouter(include_in_schema=False)
    push_locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def serve(request: Request, owner: str, name: str, endpoint: str) -> Response:
        name = name.removesuffix(".git")
        if endpoint == "info/refs":
            service = request.query_params.get("service")
            write = service == "git-receive-pack"
        else:
            service = endpoint if endpoint in _SERVICES else None
            write = endpoint == "git-receive-pack"
        decision = await authorize(GitRequest(owner, name, write, _token(request)))
        if decision.kind == "need_credentials":
            return Response(
                "Authentication required\n",
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="Spaces"'},
                media_type="text/plain",
            )
        if decision.kind == "deny":
            if endpoint == "info/refs" and service in _SERVICES:
                # git reads a pkt-line "ERR" as the first line and prints "remote error: <message>".
                return Response(
                    _pkt_line(f"ERR {decision.message}"),
                    media_type=f"application/x-{service}-advertisement",
                    headers={"Cache-Control": "no-cache"},
                )
            return Response(decision.message + "\n", status_code=403, media_type="text/plain")
        if decision.kind == "not_found" or not store.exists(owner, name):
            return Response(
                f"Repository {owner}/{name} not found\n",
                status_code=404,
                media_type="text/plain",
            )

        env = _cgi_env(request, store, owner, name, endpoint, decision.user)
        if request.method == "POST" and endpoint == "git-receive-pack":
            lock = push_locks.setdefault((owner, name), asyncio.Lock())
            return _ReceivePackResponse(
                request, env, store=store, owner=owner, name=name, on_push=on_push, lock=lock
            )
        return _CGIResponse(request, env)

    for suffix, methods in (
        ("info/refs", ["GET"]),
        ("HEAD", ["GET"]),
        ("git-upload-pack", ["POST"]),
        ("git-receive-pack", ["POST"]),
    ):
        router.add_api_route(
            f"/spaces/{{owner}}/{{name}}/{suffix}", _endpoint(serve, suffix), methods=methods
        )
    return router


def _endpoint(
    serve: Callable[[Request, str, str, str], Awaitable[Response]], suffix: str
) -> Callable[[Request, str, str], Awaitable[Response]]:
    async def endpoint(request: Request, owner: str, name: str) -> Response:
        return await serve(request, owner, name, suffix)

    endpoint.__name__ = f"git_{suffix.replace('/', '_').replace('-', '_')}"
    return endpoint


def _token(request: Request) -> str | None:
    """The Basic password (the user name is ignored, as on the Hub) or the Bearer token."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def _basic_user(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(value.strip(), validate=True).decode().partition(":")[0] or None
    except (binascii.Error, UnicodeDecodeError):
        return None


def _pkt_line(text: str) -> bytes:
    data = (text[:65000] + "\n").encode()
    return f"{len(data) + 4:04x}".encode() + data


def _cgi_env(
    request: Request, store: RepoStore, owner: str, name: str, endpoint: str, user: str | None
) -> dict[str, str]:
    env = git_env(
        GIT_PROJECT_ROOT=str(store.root.resolve()),
        GIT_HTTP_EXPORT_ALL="1",
        PATH_INFO=f"/{owner}/{name}.git/{endpoint}",
        QUERY_STRING=request.url.query,
        REQUEST_METHOD=request.method,
        CONTENT_TYPE=request.headers.get("content-type", ""),
        REMOTE_USER=user or _basic_user(request) or "anonymous",
        REMOTE_ADDR=request.client.host if request.client else "",
        SERVER_PROTOCOL=f"HTTP/{request.scope.get('http_version', '1.1')}",
    )
    for header, var in (
        ("content-length", "CONTENT_LENGTH"),
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
        ("git-protocol", "GIT_PROTOCOL"),
    ):
        if header in request.headers:
            env[var] = request.headers[header]
    return env


class _CGIResponse(Response):
    """Runs ``git http-backend`` while the ASGI response is being sent.

    It sends and receives itself rather than using ``StreamingResponse``, whose disconnect listener
    would compete with the request-body reader for ``receive()``.
    """

    def __init__(self, request: Request, env: dict[str, str]) -> None:
        super().__init__()
        self.request = request
        self.env = env

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        proc = await asyncio.create_subprocess_exec(
            "git",
            "http-backend",
            env=self.env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdin and proc.stdout and proc.stderr
        feeder = asyncio.create_task(self._feed(proc.stdin))
        stderr = asyncio.create_task(proc.stderr.read(_STDERR_KEPT))
        try:
            status, headers = await _read_cgi_headers(proc.stdout)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            while chunk := await proc.stdout.read(_CHUNK):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await feeder
            code = await proc.wait()
            if code != 0:
                log.warning("git http-backend exited %s: %s", code, (await stderr).decode(errors="replace"))
            await self.after(code)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            feeder.cancel()
            stderr.cancel()
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    async def after(self, exit_code: int) -> None:
        """Runs once git has finished and before the response ends."""

    async def _feed(self, stdin: asyncio.StreamWriter) -> None:
        try:
            if self.request.method == "POST":
                async for chunk in self.request.stream():
                    if chunk:
                        stdin.write(chunk)
                        await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # git stopped reading (an error it reports on stdout)
        except ClientDisconnect:
            pass  # git sees a truncated request and fails; the response goes nowhere anyway
        finally:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                stdin.close()


class _ReceivePackResponse(_CGIResponse):
    """A push: one at a time per repository, so that main's before and after belong to this push."""

    def __init__(
        self,
        request: Request,
        env: dict[str, str],
        *,
        store: RepoStore,
        owner: str,
        name: str,
        on_push: OnPush,
        lock: asyncio.Lock,
    ) -> None:
        super().__init__(request, env)
        self.store, self.owner, self.name = store, owner, name
        self.on_push, self.lock = on_push, lock
        self.old: str | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with self.lock:
            self.old = await asyncio.to_thread(self.store.head, self.owner, self.name)
            await super().__call__(scope, receive, send)

    async def after(self, exit_code: int) -> None:
        new = await asyncio.to_thread(self.store.head, self.owner, self.name)
        if new == self.old:
            return
        try:
            await self.on_push(self.owner, self.name, self.old, new)
        except Exception:
            log.exception("on_push failed for %s/%s", self.owner, self.name)


async def _read_cgi_headers(stdout: asyncio.StreamReader) -> tuple[int, list[tuple[bytes, bytes]]]:
    """The ``Status:`` and other headers up to the blank line; 502 if git ended before it."""
    status = 200
    headers: list[tuple[bytes, bytes]] = []
    while True:
        raw = await stdout.readline()
        if not raw:
            return 502, [(b"content-type", b"text/plain")]
        line = raw.rstrip(b"\r\n")
        if not line:
            return status, headers
        key, _, value = line.partition(b":")
        key, value = key.strip(), value.strip()
        if key.lower() == b"status":
            status = int(value.split()[0])
        else:
            headers.append((key.lower(), value))
