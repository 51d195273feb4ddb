"""FastAPI dependencies: the platform, a database session per request, and who is calling."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from orchestrator.auth import Caller, resolve_token
from orchestrator.control.platform import Platform
from orchestrator.errors import AuthError


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def get_session(platform: Platform = Depends(get_platform)) -> Iterator[Session]:
    with platform.sessions() as session:
        yield session


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def optional_caller(request: Request, session: Session = Depends(get_session)) -> Caller | None:
    token = bearer_token(request)
    return resolve_token(session, token) if token else None


def require_caller(caller: Caller | None = Depends(optional_caller)) -> Caller:
    if caller is None:
        raise AuthError(
            "This needs a token: send it as 'Authorization: Bearer <token>'."
            " An admin creates users and their tokens with `spaces users add NAME`."
        )
    return caller
