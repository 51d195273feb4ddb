"""Access tokens: making them, storing only their hash, and resolving a presented token to a user.

Tokens look like the Hub's (``hf_`` and 34 letters and digits) so tools that check the shape accept
them. A token's role is ``read`` or ``write``; admin rights belong to the user, not the token.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.errors import AuthError, ForbiddenError
from orchestrator.state.models import Token, User

ROLES = ("read", "write")
_ALPHABET = string.ascii_letters + string.digits


def new_token_value() -> str:
    return "hf_" + "".join(secrets.choice(_ALPHABET) for _ in range(34))


def hash_token(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Caller:
    """Who made a request, and with what rights."""

    user_id: int
    name: str
    role: str
    is_admin: bool

    @property
    def can_write(self) -> bool:
        return self.role == "write"

    def may_write_to(self, owner: str) -> bool:
        return self.can_write and (self.is_admin or self.name == owner)

    def may_read_private_of(self, owner: str) -> bool:
        return self.is_admin or self.name == owner

    def require_admin(self) -> None:
        if not (self.is_admin and self.can_write):
            raise ForbiddenError("This needs an admin's write token.")


def issue_token(session: Session, user: User, *, role: str, name: str = "") -> str:
    """Create a token for ``user`` and return its value (shown once, never stored)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    value = new_token_value()
    session.add(Token(user=user, role=role, name=name, token_hash=hash_token(value)))
    return value


def resolve_token(session: Session, value: str) -> Caller:
    """The caller a token belongs to; ``AuthError`` if it is unknown."""
    row = session.execute(
        select(Token, User).join(User, Token.user_id == User.id).where(Token.token_hash == hash_token(value))
    ).first()
    if row is None:
        raise AuthError("Invalid credentials in Authorization header")
    token, user = row
    return Caller(user_id=user.id, name=user.name, role=token.role, is_admin=user.is_admin)
