"""Visitor tokens: the signed ``X-IP-Token`` the proxy adds and the device API trusts.

The contract between the proxy (which knows who a request comes from) and the device API (which spends
that visitor's quota). The `spaces` client only forwards the header as the ``token`` parameter of
``/schedule`` and reads one claim itself (``error``: it then warns "Falling back to IP-based quotas").

Token: a JWT (compact JWS) signed with HS256. Header ``{"alg": "HS256", "typ": "JWT"}``. Claims:

=========  ===========================================================================================
``iss``    ``"spaces-orchestrator"``
``aud``    ``"zerogpu"``
``sub``    the visitor: ``user:<username>`` for a signed-in visitor, ``ip:<address>`` otherwise
``tier``   ``anonymous`` | ``regular`` | ``pro`` (the quota tier; ``pro`` is granted by an admin)
``space``  the Space the request was addressed to (``owner/name``): a token is spent only there, so a
           Space cannot spend, on its own GPU calls, the quota of visitors of another Space
``iat``    issued at (seconds since the epoch)
``exp``    expiry: the device API answers 401 ("Expired ZeroGPU proxy token") once it has passed
``error``  optional: why the visitor could not be identified (a bad token...); the quota is then the
           address's, at the anonymous tier
=========  ===========================================================================================

A Space that calls another ZeroGPU Space for its visitor (``gradio_client`` forwards the visitor's
``x-ip-token`` header, as on the Hub) sends a token bound to the first Space. The proxy, which never
passes a client's ``X-IP-Token`` through as is, then re-binds it with ``rebind``: same visitor, tier
and expiry, the called Space's id. A request with no valid token gets one minted from its own identity.

The key: 32 random bytes in ``<data dir>/zerogpu/visitor-token.key`` (mode 0600), made on first use;
the proxy and the device API read the same file. Neither the key nor the file is ever given to an app.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from orchestrator.zerogpu.quota import Visitor
from orchestrator.zerogpu.settings import Tier

ISSUER = "spaces-orchestrator"
AUDIENCE = "zerogpu"
DEFAULT_TTL_S = 15 * 60
"""Long enough for a request that waits in the Gradio queue before its GPU call; short enough that a
Space replaying a visitor's token is bounded."""
CLOCK_SKEW_S = 5


class VisitorTokenError(Exception):
    """A token the device API does not accept (answered 401)."""


@dataclass(frozen=True)
class VisitorClaims:
    subject: str
    tier: Tier
    space_id: str
    issued_at: int
    expires_at: int
    error: str | None = None


def key_path(data_dir: Path) -> Path:
    return data_dir / "zerogpu" / "visitor-token.key"


def load_or_create_key(data_dir: Path) -> bytes:
    """The signing key shared by the proxy and the device API, made (0600) when missing."""
    path = key_path(data_dir)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
    finally:
        os.close(fd)
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_HEADER = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())


def mint(key: bytes, claims: VisitorClaims) -> str:
    """Sign a visitor token (the proxy's side)."""
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": claims.subject,
        "tier": claims.tier.value,
        "space": claims.space_id,
        "iat": claims.issued_at,
        "exp": claims.expires_at,
    }
    if claims.error is not None:
        payload["error"] = claims.error
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(key, f"{_HEADER}.{body}".encode(), hashlib.sha256).digest()
    return f"{_HEADER}.{body}.{_b64(signature)}"


def mint_for(
    key: bytes, *, subject: str, tier: Tier, space_id: str, now: float, ttl_s: int = DEFAULT_TTL_S
) -> str:
    return mint(key, VisitorClaims(subject, tier, space_id, int(now), int(now) + ttl_s))


def verify(key: bytes, token: str, *, space_id: str | None, now: float) -> VisitorClaims:
    """The claims of a token minted for ``space_id`` (any Space if None) that has not expired, or
    ``VisitorTokenError``."""
    parts = token.split(".")
    if len(parts) != 3:
        raise VisitorTokenError("not a JWT")
    header_b64, body_b64, signature_b64 = parts
    try:
        header = json.loads(_unb64(header_b64))
        signature = _unb64(signature_b64)
        payload = json.loads(_unb64(body_b64))
    except (ValueError, binascii.Error) as exc:
        raise VisitorTokenError("malformed token") from exc
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise VisitorTokenError("unexpected signing algorithm")
    expected = hmac.new(key, f"{header_b64}.{body_b64}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise VisitorTokenError("bad signature")
    if not isinstance(payload, dict):
        raise VisitorTokenError("malformed claims")
    try:
        claims = VisitorClaims(
            subject=str(payload["sub"]),
            tier=Tier(payload["tier"]),
            space_id=str(payload["space"]),
            issued_at=int(payload["iat"]),
            expires_at=int(payload["exp"]),
            error=None if payload.get("error") is None else str(payload["error"]),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise VisitorTokenError("missing or malformed claims") from exc
    if payload.get("iss") != ISSUER or payload.get("aud") != AUDIENCE:
        raise VisitorTokenError("token not issued for ZeroGPU")
    if space_id is not None and claims.space_id != space_id:
        raise VisitorTokenError("token issued for another Space")
    if now > claims.expires_at + CLOCK_SKEW_S:
        raise VisitorTokenError("token expired")
    return claims


def rebind(key: bytes, token: str, *, space_id: str, now: float) -> str:
    """The proxy's side of a Space calling another for its visitor: a valid token of any Space becomes
    the same visitor's token for ``space_id``, expiring no later. ``VisitorTokenError`` otherwise."""
    claims = verify(key, token, space_id=None, now=now)
    return mint(key, replace(claims, space_id=space_id))


def visitor_of(claims: VisitorClaims | None, space_id: str) -> Visitor:
    """Whose quota a call spends: the token's visitor, the anonymous address when the proxy could not
    identify them, or the Space itself for calls that carry no token (startup, cached examples)."""
    if claims is None:
        return Visitor(f"space:{space_id}", Tier.ANONYMOUS)
    if claims.error is not None:
        return Visitor(claims.subject, Tier.ANONYMOUS)
    return Visitor(claims.subject, claims.tier)
