"""The control plane's ASGI application: the API, git over HTTP, and the app proxy by host name.

``create_app`` wires routers around a ``Platform``; errors of ours become ``{"error": message}`` with the
Hub's status codes and headers, never a traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp

from orchestrator import __version__
from orchestrator.api.git_access import make_authorize, make_on_push
from orchestrator.api.routers import hub_files, hub_repos, hub_runtime, lfs, logs, metrics, spaces, users
from orchestrator.api.signin import Signer, SignIn
from orchestrator.auth import resolve_token
from orchestrator.control.platform import Platform
from orchestrator.control.spaces import find_space_by_subdomain
from orchestrator.errors import AuthError, NotFoundError, SpacesError
from orchestrator.gitserver.smart_http import make_git_router
from orchestrator.proxy.app import ProxyApp, host_dispatch
from orchestrator.proxy.gate import Admit, Gate, Headers
from orchestrator.proxy.routes import Unavailable
from orchestrator.stages import Stage

_UNAVAILABLE_TITLES = {
    Stage.BUILDING: "This Space is building",
    Stage.APP_STARTING: "This Space is starting",
    Stage.NO_APP_FILE: "This Space has no app yet",
    Stage.CONFIG_ERROR: "This Space's configuration has an error",
    Stage.BUILD_ERROR: "This Space failed to build",
    Stage.RUNTIME_ERROR: "This Space's app has stopped",
    Stage.DELETING: "This Space is being deleted",
    Stage.PAUSED: "This Space is paused",
    Stage.SLEEPING: "This Space is asleep",
}


def _describe(platform: Platform) -> Callable[[str], Awaitable[Unavailable | None]]:
    """The page for an app host with no route: read off the event loop, by the indexed subdomain."""

    def lookup(sub: str) -> Unavailable | None:
        with platform.sessions() as session:
            space = find_space_by_subdomain(session, sub)
            if space is None or space.private:
                return None
            title = _UNAVAILABLE_TITLES.get(Stage(space.stage), f"This Space is {space.stage.lower()}")
            if space.stage == Stage.PAUSED:
                # Visitors cannot wake a paused Space; only its owner can, by restarting it.
                return Unavailable(
                    503, title, f"{space.space_id} has been paused by its owner and does not wake on visits."
                )
            message = (
                space.error_message or f"{space.space_id} is {space.stage}; this page reloads by itself."
            )
            return Unavailable(503, title, message)

    async def describe(sub: str) -> Unavailable | None:
        return await asyncio.to_thread(lookup, sub)

    return describe


def _admit(platform: Platform, sign_in: SignIn) -> Admit:
    """Private apps answer their owner and admins, by token (``Authorization`` or gradio_client's
    ``X-HF-Authorization``, both ``Bearer``) or by the app host's sign-in cookie."""

    async def admit(sub: str, owner: str, headers: Headers) -> bool:
        token = None
        for name, value in headers:
            if name in (b"authorization", b"x-hf-authorization"):
                scheme, _, credential = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and credential.strip():
                    token = credential.strip()
        if token is None:
            user = sign_in.user_for_app(sub, headers)
            return user is not None and (user.is_admin or user.name == owner)
        with platform.sessions() as session:
            try:
                caller = resolve_token(session, token)
            except AuthError:
                return False
        return caller.may_read_private_of(owner)

    return admit


def _error_response(exc: SpacesError) -> JSONResponse:
    # A header carries printable ASCII only (a name from the URL may hold anything): the body has it all.
    first_line = (exc.message.splitlines() or [""])[0][:500]
    headers = {"X-Error-Message": "".join(c if " " <= c <= "~" else "?" for c in first_line)}
    if isinstance(exc, NotFoundError):
        headers["X-Error-Code"] = exc.error_code
    return JSONResponse({"error": exc.message}, status_code=exc.status_code, headers=headers)


def create_api(platform: Platform, proxy: ProxyApp, sign_in: SignIn | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await platform.reconciler.start()
        if platform.idle is not None:
            await platform.idle.start()
        try:
            yield
        finally:
            if platform.idle is not None:
                await platform.idle.close()
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
    api.include_router(metrics.router)
    if sign_in is not None:
        api.include_router(sign_in.router())
    for hub_router in (hub_repos.router, hub_runtime.router, hub_files.router, lfs.router):
        api.include_router(hub_router)
    api.include_router(
        make_git_router(
            store=platform.repos, authorize=make_authorize(platform), on_push=make_on_push(platform)
        )
    )
    return api


def create_app(platform: Platform) -> ASGIApp:
    """The whole control plane: the API on ``domain``, each Space's app on ``{sub}.{domain}``."""
    return create_app_and_gate(platform)[0]


def create_app_and_gate(platform: Platform) -> tuple[ASGIApp, Gate]:
    """``create_app``, plus the gate its proxy asks, for a front end that serves app hosts itself
    (``orchestrator.proxy.frontdoor``)."""
    sign_in = SignIn(platform.settings, platform.sessions, Signer.from_data_dir(platform.settings.data_dir))
    gate = Gate(
        platform.routes,
        _describe(platform),
        _admit(platform, sign_in),
        sleep=platform.idle,
        sign_in=sign_in.hand_off,
        hold_seconds=platform.settings.wake_hold_seconds,
        metrics=platform.metrics,
    )
    proxy = ProxyApp(platform.routes, gate)
    api = create_api(platform, proxy, sign_in)
    app = host_dispatch(api=api, proxy=proxy, domain=platform.settings.domain)
    return app, gate
