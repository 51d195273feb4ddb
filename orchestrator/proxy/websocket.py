"""The WebSocket relay: one client WebSocket (ASGI) joined to one WebSocket to the Space's app.

Owns the upstream handshake (same ``Host``, cookies, origin and subprotocols as the client's), the
relay of text and binary frames both ways, and passing close codes across. Whichever side ends first,
the other is closed. It must not look up routes or count connections: ``ProxyApp`` does both.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from urllib.parse import quote

from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol

from orchestrator.proxy import pages
from orchestrator.proxy.headers import websocket_headers
from orchestrator.proxy.routes import Route, Unavailable

OPEN_TIMEOUT_SECONDS = 10.0
CLOSE_TIMEOUT_SECONDS = 5.0

_NORMAL = 1000
_GOING_AWAY = 1001


def _sendable(code: int | None, *, otherwise: int) -> int:
    """``code`` if it may appear in a close frame (1005 and 1006 only describe what happened)."""
    if code is not None and (1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999):
        return code
    return otherwise


async def relay(scope: Scope, receive: Receive, send: Send, route: Route) -> None:
    """Accept the client's WebSocket once the app accepted ours, then relay until either side ends."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    upstream = await _connect(scope, send, route)
    if upstream is None:
        return
    async with upstream:
        accept: dict[str, object] = {"type": "websocket.accept", "subprotocol": upstream.subprotocol}
        if upstream.response is not None:
            cookies = upstream.response.headers.get_all("Set-Cookie")
            if cookies:
                accept["headers"] = [(b"set-cookie", cookie.encode("latin-1")) for cookie in cookies]
        await send(accept)
        to_client = asyncio.ensure_future(_app_to_client(upstream, send))
        to_app = asyncio.ensure_future(_client_to_app(receive, upstream))
        try:
            await asyncio.wait((to_client, to_app), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (to_client, to_app):
                task.cancel()
            await asyncio.gather(to_client, to_app, return_exceptions=True)


async def _connect(scope: Scope, send: Send, route: Route) -> ClientConnection | None:
    """Open the WebSocket to the app, or refuse the client's with the reason and return ``None``."""
    subprotocols: Sequence[Subprotocol] = [Subprotocol(p) for p in scope.get("subprotocols", ())]
    try:
        return await connect(
            _upstream_uri(scope, route),
            host=route.host,
            port=route.port,
            subprotocols=subprotocols or None,
            additional_headers=websocket_headers(scope),
            user_agent_header=None,
            compression=None,
            proxy=None,
            open_timeout=OPEN_TIMEOUT_SECONDS,
            close_timeout=CLOSE_TIMEOUT_SECONDS,
            ping_interval=None,
            max_size=None,
        )
    except InvalidStatus as error:
        status = error.response.status_code
        reason = error.response.reason_phrase or "WebSocket refused"
        await pages.deny_websocket(
            scope, send, Unavailable(status, reason, f"The app answered {status} {reason}.")
        )
    except (OSError, InvalidHandshake, InvalidURI):
        await pages.deny_websocket(
            scope,
            send,
            Unavailable(
                502, "The Space's app is not answering", "The app did not accept the WebSocket connection."
            ),
        )
    except TimeoutError:
        await pages.deny_websocket(
            scope,
            send,
            Unavailable(
                504, "The Space's app is not answering", "The app did not answer the WebSocket handshake."
            ),
        )
    return None


def _upstream_uri(scope: Scope, route: Route) -> str:
    """The app's URI, named by the client's ``Host`` so the app sees the same ``Host`` and origin check.

    The TCP connection goes to the route's address regardless (``host=``/``port=`` of ``connect``).
    """
    host = route.host if ":" not in route.host else f"[{route.host}]"
    authority = f"{host}:{route.port}"
    for name, value in scope["headers"]:
        if name == b"host":
            authority = value.decode("latin-1")
            break
    raw_path: bytes | None = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else quote(scope["path"])
    query: bytes = scope.get("query_string", b"")
    return f"ws://{authority}{path}?{query.decode('latin-1')}" if query else f"ws://{authority}{path}"


async def _client_to_app(receive: Receive, upstream: ClientConnection) -> None:
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.receive":
            text: str | None = message.get("text")
            try:
                await upstream.send(text if text is not None else message.get("bytes") or b"")
            except ConnectionClosed:
                return
        elif kind == "websocket.disconnect":
            await upstream.close(
                _sendable(message.get("code"), otherwise=_NORMAL), message.get("reason") or ""
            )
            return


async def _app_to_client(upstream: ClientConnection, send: Send) -> None:
    try:
        async for data in upstream:
            if isinstance(data, str):
                await send({"type": "websocket.send", "text": data})
            else:
                await send({"type": "websocket.send", "bytes": data})
    except ConnectionClosed:
        pass
    code = _sendable(upstream.close_code, otherwise=_GOING_AWAY)
    # The client may be gone already, in which case the server refuses the close: nothing left to do.
    with contextlib.suppress(Exception):
        await send({"type": "websocket.close", "code": code, "reason": upstream.close_reason or ""})
