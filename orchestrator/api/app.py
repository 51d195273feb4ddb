"""The control plane's ASGI application: the API, git over HTTP, and the app proxy by host name.

``create_app`` wires routers around a ``Platform``; errors of ours become ``{"error": message}`` with the
Hub's status codes and headers, never a traceback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import select
from starlette.types import ASGIApp

from orchestrator import __version__
from orchestrator.api.git_access import make_authorize, make_on_push
from orchestrator.api.routers import logs, spaces, users
from orchestrator.auth import resolve_token
from orchestrator.control.platform import Platform
from orchestrator.errors import AuthError, NotFoundError, SpacesError
from orchestrator.gitserver.smart_http import make_git_router
from orchestrator.naming import subdomain
from orchestrator.proxy.app import ProxyApp, host_dispatch
from orchestrator.proxy.gate import Admit, Gate, Headers
from orchestrator.proxy.routes import Route, Unavailable
from orchestrator.stages import Stage
from orchestrator.state.models import Space

_UNAVAILABLE_TITLES = {
    Stage.BUILDING: "This Space is building",
    Stage.APP_STARTING: "This Space is starting",
    Stage.NO_APP_FILE: "This Space has no app yet",
    Stage.CONFIG_ERROR: "This Space's configuration has an error",
    Stage.BUILD_ERROR: "This Space failed to build",
    Stage.RUNTIME_ERROR: "This Space's app has stopped",
    Stage.DELETING: "This Space is being deleted",
}


def _describe(platform: Platform) -> Callable[[str], Awaitable[Unavailable | None]]:
    async def describe(sub: str) -> Unavailable | None:
        with platform.sessions() as session:
            space = next(
                (s for s in session.scalars(select(Space)) if subdomain(s.owner, s.name) == sub), None
            )
            if space is None or space.private:
                return None
            title = _UNAVAILABLE_TITLES.get(Stage(space.stage), f"This Space is {space.stage.lower()}")
            message = (
                space.error_message or f"{space.space_id} is {space.stage}; this page reloads by itself."
            )
            return Unavailable(503, title, message)

    return describe


def _admit(platform: Platform) -> Admit:
    """Private apps answer their owner and admins, by token (``Authorization`` or gradio_client's
    ``X-HF-Authorization``, both ``Bearer``)."""

    async def admit(route: Route, headers: Headers) -> bool:
        token = None
        for name, value in headers:
            if name in (b"authorization", b"x-hf-authorization"):
                scheme, _, credential = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and credential.strip():
                    token = credential.strip()
        if token is None or route.private_owner is None:
            return False
        with platform.sessions() as session:
            try:
                caller = resolve_token(session, token)
            except AuthError:
                return False
        return caller.may_read_private_of(route.private_owner)

    return admit


def _error_response(exc: SpacesError) -> JSONResponse:
    headers = {"X-Error-Message": exc.message.splitlines()[0][:500]}
    if isinstance(exc, NotFoundError):
        headers["X-Error-Code"] = exc.error_code
    return JSONResponse({"error": exc.message}, status_code=exc.status_code, headers=headers)


def create_api(platform: Platform, proxy: ProxyApp) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await platform.reconciler.start()
        try:
            yield
        finally:
            await platform.reconciler.close()
            await platform.runtime.close()
            await platform.pipeline.engine.close()
            await proxy.aclose()

    api = FastAPI(title="Spaces orchestrator", version=__version__, lifespan=lifespan)
    api.state.platform = platform

    @api.exception_handler(SpacesError)
    async def spaces_error(_request: Request, exc: SpacesError) -> JSONResponse:
        return _error_response(exc)

    @api.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        return JSONResponse(
            {"error": f"Invalid request: {problems}", "detail": exc.errors()}, status_code=422
        )

    @api.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "runtime": platform.runtime.name}

    api.include_router(users.router)
    api.include_router(spaces.router)
    api.include_router(logs.router)
    api.include_router(
        make_git_router(
            store=platform.repos, authorize=make_authorize(platform), on_push=make_on_push(platform)
        )
    )
    return api


def create_app(platform: Platform) -> ASGIApp:
    """The whole control plane: the API on ``domain``, each Space's app on ``{sub}.{domain}``."""
    proxy = ProxyApp(platform.routes, Gate(platform.routes, _describe(platform), _admit(platform)))
    return host_dispatch(api=create_api(platform, proxy), proxy=proxy, domain=platform.settings.domain)
