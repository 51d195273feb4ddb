"""Signing in with a browser: a session cookie on the control plane, handed on to each app host.

A browser cannot send an ``Authorization`` header to a private Space, and a cookie for
``{domain}`` does not reach ``{sub}.{domain}`` in every browser (``localhost`` above all). So signing in
(``/login``, pasting an access token) sets a cookie on the control plane, then sends the browser to
``{sub}.{domain}/.spaces/sign-in`` with a one-minute ticket bound to that app host; the gate answers
that path with the app host's own cookie (``sign_in``), bound to that host too, so an app that reads
its visitors' cookies cannot use them anywhere else. Values are HMAC-signed with a secret kept in the
data directory; nothing is stored per session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import os
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.auth import resolve_token
from orchestrator.errors import AuthError
from orchestrator.proxy.gate import SIGN_IN_PATH, Headers
from orchestrator.proxy.routes import Unavailable
from orchestrator.settings import Settings
from orchestrator.state.models import User

COOKIE = "spaces_session"
TICKET_SECONDS = 60
SESSION_SECONDS = 7 * 24 * 3600


class Signer:
    """Signs and checks short ``kind:user:host:expiry`` statements with the control plane's secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> Signer:
        path = data_dir / "session_secret"
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_hex(32))
        return cls(path.read_text().strip().encode())

    def sign(self, kind: str, user_id: int, host: str, seconds: int) -> str:
        body = f"{kind}:{user_id}:{host}:{int(time.time()) + seconds}"
        mac = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()
        return _b64(body.encode()) + "." + _b64(mac)

    def verify(self, value: str, kind: str, host: str) -> int | None:
        """The user id in ``value`` if it is a valid, unexpired ``kind`` statement for ``host``."""
        encoded, _, mac = value.partition(".")
        try:
            body = _unb64(encoded)
            good = hmac.compare_digest(_unb64(mac), hmac.new(self._secret, body, hashlib.sha256).digest())
            got_kind, user, got_host, expiry = body.decode().split(":")
            if good and got_kind == kind and got_host == host and int(expiry) >= time.time():
                return int(user)
        except (ValueError, UnicodeDecodeError):
            return None
        return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cookie_value(headers: Headers, name: str = COOKIE) -> str | None:
    """The value of cookie ``name`` in request headers, if sent."""
    wanted = name.encode() + b"="
    for header, value in headers:
        if header == b"cookie":
            for part in value.split(b";"):
                part = part.strip()
                if part.startswith(wanted):
                    return part[len(wanted) :].decode("latin-1")
    return None


def _cookie_header(value: str, *, secure: bool, max_age: int) -> str:
    flags = "; Secure" if secure else ""
    return f"{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{flags}"


class SignIn:
    """The sign-in pages on the control plane and the cookie hand-off on app hosts."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], signer: Signer) -> None:
        self.settings = settings
        self.sessions = sessions
        self.signer = signer
        self._secure = settings.effective_public_url.startswith("https://")
        self._domain_host = settings.domain.partition(":")[0].lower()

    # ----- app hosts (called by the gate) ----------------------------------------------------------------

    def user_for_app(self, subdomain: str, headers: Headers) -> User | None:
        """The signed-in user whose app-host cookie came with a request to ``subdomain``."""
        value = cookie_value(headers)
        user_id = self.signer.verify(value, "app", subdomain) if value else None
        if user_id is None:
            return None
        with self.sessions() as session:
            user = session.get(User, user_id)
            if user is not None:
                session.expunge(user)
            return user

    def hand_off(self, subdomain: str, query: bytes) -> Unavailable:
        """Answer ``/.spaces/sign-in?ticket=...&next=...`` on an app host: set its cookie, go on."""
        fields = parse_qs(query.decode("latin-1"))
        ticket = (fields.get("ticket") or [""])[0]
        after = (fields.get("next") or ["/"])[0]
        if not after.startswith("/") or after.startswith("//"):
            after = "/"
        user_id = self.signer.verify(ticket, "ticket", subdomain)
        if user_id is None:
            return Unavailable(403, "Sign-in link expired", "This sign-in link is invalid or has expired.")
        cookie = _cookie_header(
            self.signer.sign("app", user_id, subdomain, SESSION_SECONDS),
            secure=self._secure,
            max_age=SESSION_SECONDS,
        )
        return Unavailable(
            303,
            "Signed in",
            "Signed in; continuing to the app.",
            headers=((b"location", after.encode("latin-1")), (b"set-cookie", cookie.encode("latin-1"))),
        )

    # ----- the control plane -----------------------------------------------------------------------------

    def app_host_of(self, url: str) -> tuple[str, str, str] | None:
        """``(scheme, host, subdomain)`` when ``url`` is on an app host of this control plane."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not host.endswith("." + self._domain_host):
            return None
        label = host[: -len(self._domain_host) - 1]
        if not label or "." in label:
            return None
        return parts.scheme, parts.netloc, label

    def continue_to(self, user_id: int, after: str) -> str:
        """Where to send a signed-in browser that asked for ``after``."""
        app = self.app_host_of(after)
        if app is not None:
            scheme, netloc, label = app
            parts = urlsplit(after)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            ticket = self.signer.sign("ticket", user_id, label, TICKET_SECONDS)
            query = f"ticket={quote(ticket)}&next={quote(path, safe='')}"
            return f"{scheme}://{netloc}{SIGN_IN_PATH.decode()}?{query}"
        if after.startswith("/") and not after.startswith("//"):
            return after
        return "/"

    def router(self) -> APIRouter:
        router = APIRouter(tags=["sign-in"])

        @router.get("/login", response_model=None)
        def login_page(request: Request, next: str = "/") -> Response:
            value = request.cookies.get(COOKIE)
            user_id = self.signer.verify(value, "session", self._domain_host) if value else None
            if user_id is not None:
                return RedirectResponse(self.continue_to(user_id, next), status_code=303)
            return HTMLResponse(_login_form(next, error=None))

        @router.post("/login", response_model=None)
        async def login(request: Request) -> Response:
            fields = parse_qs((await request.body()).decode("utf-8", "replace"))
            token = (fields.get("token") or [""])[0].strip()
            after = (fields.get("next") or ["/"])[0]
            try:
                with self.sessions() as session:
                    caller = resolve_token(session, token)
            except AuthError:
                return HTMLResponse(_login_form(after, error="That token is not valid."), status_code=401)
            response = RedirectResponse(self.continue_to(caller.user_id, after), status_code=303)
            session_cookie = self.signer.sign("session", caller.user_id, self._domain_host, SESSION_SECONDS)
            response.headers.append(
                "set-cookie", _cookie_header(session_cookie, secure=self._secure, max_age=SESSION_SECONDS)
            )
            return response

        @router.post("/logout", response_model=None)
        def logout() -> Response:
            response = RedirectResponse("/login", status_code=303)
            response.headers.append("set-cookie", _cookie_header("", secure=self._secure, max_age=0))
            return response

        return router


_FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body {{ font-family: system-ui, sans-serif; display: flex; justify-content: center;
  margin-top: 15vh; }}
form {{ display: grid; gap: .75rem; width: 22rem; }} .error {{ color: #b91c1c; }}</style></head>
<body><form method="post" action="/login"><h1>Sign in</h1>{error}
<label>Access token <input name="token" type="password" autocomplete="current-password" required></label>
<input type="hidden" name="next" value="{after}"><button type="submit">Sign in</button></form></body></html>
"""


def _login_form(after: str, *, error: str | None) -> str:
    message = f'<p class="error">{html.escape(error)}</p>' if error else ""
    return _FORM.format(error=message, after=html.escape(after, quote=True))
