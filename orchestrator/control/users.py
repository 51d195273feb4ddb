"""Users and tokens: creating them, and the first admin of a fresh control plane."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.auth import ROLES, Caller, issue_token
from orchestrator.errors import ConflictError, InvalidInputError
from orchestrator.naming import validate_owner
from orchestrator.state.models import User

ADMIN_NAME = "admin"


def create_user(session: Session, caller: Caller, *, name: str, admin: bool) -> str:
    """Create a user with a write token and return the token (admins only)."""
    caller.require_admin()
    validate_owner(name)
    if session.scalars(select(User).where(func.lower(User.name) == name.lower())).first():
        raise ConflictError(f"User {name!r} already exists.")
    user = User(name=name, is_admin=admin)
    session.add(user)
    token = issue_token(session, user, role="write", name="created with the user")
    session.commit()
    return token


def create_token(session: Session, caller: Caller, *, role: str, name: str) -> str:
    """A new token for the caller; a read token cannot make a write token."""
    if role not in ROLES:
        raise InvalidInputError(f"Unknown token role {role!r}: use one of {', '.join(ROLES)}.")
    if role == "write" and not caller.can_write:
        raise InvalidInputError("A read token cannot create a write token.")
    user = session.get_one(User, caller.user_id)
    token = issue_token(session, user, role=role, name=name)
    session.commit()
    return token


def bootstrap_admin(session: Session, data_dir: Path) -> str | None:
    """On a control plane with no users, create ``admin`` and return its token (else ``None``).

    The token is also written to ``data_dir/admin_token`` (mode 0600) so the CLI on this machine can
    use it; it is never printed again.
    """
    if session.scalar(select(func.count()).select_from(User)):
        return None
    user = User(name=ADMIN_NAME, is_admin=True)
    session.add(user)
    token = issue_token(session, user, role="write", name="first admin")
    session.commit()
    path = data_dir / "admin_token"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token
