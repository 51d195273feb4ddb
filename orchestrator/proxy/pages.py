"""The answers the proxy gives itself when a Space's app cannot: a small HTML page or JSON error.

Owns turning an ``Unavailable`` into status, headers and body, and sending it on an HTTP or WebSocket
(denial response) connection. Browsers get HTML (refreshing itself while the Space is starting);
everything else gets ``{"error": message}``, like the API.
"""

from __future__ import annotations

import html
import json

from starlette.types import Scope, Send

from orchestrator.proxy.routes import Unavailable

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{refresh}<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; display: flex; min-height: 90vh; margin: 0;
  align-items: center; justify-content: center; color: #1f2937; background: #f9fafb; }}
main {{ max-width: 36rem; padding: 2rem; text-align: center; }}
h1 {{ font-size: 1.5rem; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p>{message}</p>
</main>
</body>
</html>
"""

RETRY_AFTER_SECONDS = 5


def accepts_html(scope: Scope) -> bool:
    """Whether the client's ``Accept`` header names ``text/html`` (browsers do, API clients don't)."""
    for name, value in scope["headers"]:
        if name == b"accept":
            return b"text/html" in value
    return False


def render(unavailable: Unavailable, *, as_html: bool) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Headers and body of the page answering ``unavailable``."""
    retrying = unavailable.status_code == 503
    if as_html:
        refresh = f'<meta http-equiv="refresh" content="{RETRY_AFTER_SECONDS}">\n' if retrying else ""
        body = _PAGE.format(
            refresh=refresh, title=html.escape(unavailable.title), message=html.escape(unavailable.message)
        ).encode()
        content_type = b"text/html; charset=utf-8"
    else:
        body = json.dumps({"error": unavailable.message}).encode()
        content_type = b"application/json"
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if retrying:
        headers.append((b"retry-after", str(RETRY_AFTER_SECONDS).encode()))
    headers.extend(unavailable.headers)
    return headers, body


async def send_http(scope: Scope, send: Send, unavailable: Unavailable) -> None:
    """Answer an HTTP request with the page for ``unavailable``."""
    headers, body = render(unavailable, as_html=accepts_html(scope))
    await send({"type": "http.response.start", "status": unavailable.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def deny_websocket(scope: Scope, send: Send, unavailable: Unavailable) -> None:
    """Refuse a WebSocket handshake, with an HTTP answer when the server supports sending one."""
    if "websocket.http.response" not in (scope.get("extensions") or {}):
        # Without the extension the server can only answer 403; 1013 says "try again later".
        await send({"type": "websocket.close", "code": 1013, "reason": unavailable.title[:120]})
        return
    headers, body = render(unavailable, as_html=False)
    await send(
        {"type": "websocket.http.response.start", "status": unavailable.status_code, "headers": headers}
    )
    await send({"type": "websocket.http.response.body", "body": body, "more_body": False})
