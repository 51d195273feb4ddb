"""Users and tokens: ``/api/users``, ``/api/tokens`` and the Hub's ``/api/whoami-v2``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from orchestrator.api.deps import get_session, require_caller
from orchestrator.api.schemas import CreateToken, CreateUser
from orchestrator.auth import Caller
from orchestrator.control import users

router = APIRouter(prefix="/api", tags=["users"])


@router.post("/users", status_code=201)
def create_user(
    body: CreateUser, caller: Caller = Depends(require_caller), session: Session = Depends(get_session)
) -> dict[str, Any]:
    token = users.create_user(session, caller, name=body.name, admin=body.admin)
    return {"name": body.name, "admin": body.admin, "token": token}


@router.post("/tokens", status_code=201)
def create_token(
    body: CreateToken, caller: Caller = Depends(require_caller), session: Session = Depends(get_session)
) -> dict[str, Any]:
    return {
        "token": users.create_token(session, caller, role=body.role, name=body.name or ""),
        "role": body.role,
    }


@router.get("/whoami-v2")
def whoami(caller: Caller = Depends(require_caller)) -> dict[str, Any]:
    return {
        "type": "user",
        "id": str(caller.user_id),
        "name": caller.name,
        "fullname": caller.name,
        "isAdmin": caller.is_admin,
        "orgs": [],
        "auth": {"type": "access_token", "accessToken": {"displayName": "token", "role": caller.role}},
    }
