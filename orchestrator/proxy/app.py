"""The app proxy: the ASGI app that carries requests for ``{subdomain}.{domain}`` to the Space's app.

Owns the HTTP relay (request and response bodies streamed, never buffered) and the choice of what to
answer when there is no route (``describe``) or the app refuses the connection (502). WebSockets are
relayed by ``orchestrator.proxy.websocket``; ``host_dispatch`` splits traffic between the proxy and the
control plane's API by ``Host``. It must not decide which instance serves a Space: that is the
``RouteTable``'s content, kept by the control plane.

The hot path is kept small on purpose (it is benchmarked against nginx): one dictionary lookup for the
route, one pass over the headers, one extra task per request to notice clients that go away, and one
``gate.record`` call when the request is done.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from orchestrator.proxy import pages, static, websocket
from orchestrator.proxy.gate import Gate, Refuse
from orchestrator.proxy.headers import request_headers, response_headers
from orchestrator.proxy.routes import Route, RouteTable, Unavailable

CONNECT_TIMEOUT_SECONDS = 10.0
# Below uvicorn's default keep-alive (5 s), so a pooled connection is not reused just as the app closes it.
KEEPALIVE_EXPIRY_SECONDS = 4.0

_TIMEOUTS = {"connect": CONNECT_TIMEOUT_SECONDS, "read": None, "write": None, "pool": None}
_END_OF_BODY = {"type": "http.response.body", "body": b"", "more_body": False}


def _refused(route: Route) -> Unavailable:
    return Unavailable(
        502,
        "The Space's app is not answering",
        f"The app is not accepting connections on port {route.port}; it may have crashed or be restarting.",
    )


def _broken() -> Unavailable:
    return Unavailable(
        502, "The Space's app is not answering", "The app closed the connection without answering."
    )


def _too_slow(route: Route) -> Unavailable:
    return Unavailable(
        504,
        "The Space's app is not answering",
        f"The app did not accept the connection within {CONNECT_TIMEOUT_SECONDS:g} seconds.",
    )


class _Tally:
    """What one request carried, for ``Gate.record``."""

    __slots__ = ("bytes_in", "bytes_out", "status")

    def __init__(self) -> None:
        self.status = 0
        self.bytes_in = 0
        self.bytes_out = 0


class _ClientGone(Exception):
    """The client disconnected while the proxy was still reading its request body."""


class _DisconnectWatch:
    """Cancels the current task when the client disconnects, until ``stop()`` is called.

    ``uvicorn`` silently ignores sends to a closed connection, so without this a server-sent-events
    stream would stay open to the app (and counted as in use) long after its reader left.
    """

    def __init__(self, receive: Receive) -> None:
        self.fired = False
        self._task = asyncio.current_task()
        self._watcher: asyncio.Task[None] | None = None
        self._receive = receive

    def start(self) -> None:
        if self._watcher is None:
            self._watcher = asyncio.ensure_future(self._watch())

    def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and self._watcher is not None and not self._watcher.done():
            self._watcher.cancel()

    async def _watch(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        if self._task is not None:
            self.fired = True
            self._task.cancel()


class ProxyApp:
    """ASGI app proxying HTTP and WebSocket traffic for a subdomain to the instance its route names.

    Mounted behind ``host_dispatch``, which calls ``serve`` with the subdomain. Used as a plain ASGI app,
    it reads the subdomain from ``scope["state"]["subdomain"]``. Call ``aclose()`` on shutdown.
    """

    def __init__(self, routes: RouteTable, gate: Gate) -> None:
        self.routes = routes
        self.gate = gate
        # The transport rather than an AsyncClient: the client would add its default headers
        # (Accept-Encoding among them), keep one cookie jar for every Space and follow its own hooks.
        self._transport = httpx.AsyncHTTPTransport(
            http1=True,
            http2=False,
            trust_env=False,
            retries=0,
            limits=httpx.Limits(
                max_connections=None, max_keepalive_connections=256, keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS
            ),
        )

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        subdomain = (scope.get("state") or {}).get("subdomain", "")
        await self.serve(scope, receive, send, subdomain)

    async def serve(self, scope: Scope, receive: Receive, send: Send, subdomain: str) -> None:
        """Carry one HTTP request or WebSocket for ``subdomain``."""
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            return
        started = time.monotonic()
        decision = await self.gate.decide(
            subdomain, scope["headers"], scope.get("raw_path") or b"", scope.get("query_string", b"")
        )
        if isinstance(decision, Refuse):
            await self._refuse(scope, send, decision.unavailable)
            return
        route = decision.route
        tally = _Tally()
        with self.routes.connection(route.instance_id):
            try:
                if route.static_root is not None:
                    tally.status, tally.bytes_out = await static.serve(scope, receive, send, route)
                elif kind == "http":
                    await self._relay_http(scope, receive, send, route, tally)
                else:
                    tally.status = 101
                    await websocket.relay(scope, receive, send, route)
            finally:
                self.gate.record(
                    route, tally.status, tally.bytes_in, tally.bytes_out, time.monotonic() - started
                )

    @staticmethod
    async def _refuse(scope: Scope, send: Send, unavailable: Unavailable) -> None:
        if scope["type"] == "http":
            await pages.send_http(scope, send, unavailable)
        else:
            await pages.deny_websocket(scope, send, unavailable)

    async def _relay_http(
        self, scope: Scope, receive: Receive, send: Send, route: Route, tally: _Tally
    ) -> None:
        watch = _DisconnectWatch(receive)
        try:
            await self._exchange(scope, receive, send, route, watch, tally)
        except _ClientGone:
            pass
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not watch.fired or task is None:
                raise
            task.uncancel()
        finally:
            watch.stop()

    async def _exchange(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: Route,
        watch: _DisconnectWatch,
        tally: _Tally,
    ) -> None:
        headers = request_headers(scope)
        has_body = _has_body(scope["headers"])
        request = httpx.Request(
            scope["method"],
            _upstream_url(scope, route),
            headers=headers,
            content=_request_body(receive, watch, tally) if has_body else None,
            extensions={"timeout": _TIMEOUTS},
        )
        if not has_body:
            watch.start()
        try:
            response = await self._transport.handle_async_request(request)
        except httpx.ConnectTimeout:
            tally.status = 504
            await pages.send_http(scope, send, _too_slow(route))
            return
        except httpx.ConnectError:
            tally.status = 502
            await pages.send_http(scope, send, _refused(route))
            return
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            watch.stop()
            tally.status = 502
            await pages.send_http(scope, send, _broken())
            return
        tally.status = response.status_code
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": response_headers(
                        [(name.lower(), value) for name, value in response.headers.raw],
                        route.response_headers,
                    ),
                }
            )
            async for chunk in response.aiter_raw():
                tally.bytes_out += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except (httpx.RemoteProtocolError, httpx.ReadError):
            # The app broke off mid-response; returning without finishing makes the server drop the
            # client connection, so the client sees a truncated response rather than a complete one.
            return
        finally:
            await response.aclose()
        # Finishing the response makes the server report a disconnect: stop watching before that.
        watch.stop()
        await send(_END_OF_BODY)


def _has_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"content-length":
            return value != b"0"
        if name == b"transfer-encoding":
            return True
    return False


def _upstream_url(scope: Scope, route: Route) -> str:
    raw_path: bytes | None = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else quote(scope["path"])
    query: bytes = scope.get("query_string", b"")
    if query:
        return f"http://{route.host}:{route.port}{path}?{query.decode('latin-1')}"
    return f"http://{route.host}:{route.port}{path}"


async def _request_body(receive: Receive, watch: _DisconnectWatch, tally: _Tally) -> AsyncIterator[bytes]:
    """The client's request body, chunk by chunk as the server hands it over."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        body: bytes = message.get("body", b"")
        if body:
            tally.bytes_in += len(body)
            yield body
        if not message.get("more_body", False):
            watch.start()
            return


def host_dispatch(*, api: ASGIApp, proxy: ProxyApp, domain: str) -> ASGIApp:
    """An ASGI app sending ``<label>.<domain>`` (any port) to ``proxy`` and everything else to ``api``."""
    suffix = "." + _hostname(domain.encode("latin-1")).decode("latin-1")
    suffix_bytes = suffix.encode("latin-1")

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            subdomain = _subdomain(scope, suffix_bytes)
            if subdomain:
                await proxy.serve(scope, receive, send, subdomain)
                return
        await api(scope, receive, send)

    return dispatch


def _hostname(host: bytes) -> bytes:
    """``host`` without its port, lower case (``[::1]:80`` keeps its brackets)."""
    if host.startswith(b"["):
        return host[: host.find(b"]") + 1].lower()
    return host.partition(b":")[0].lower()


def _subdomain(scope: Scope, suffix: bytes) -> str:
    """The one label in front of the domain in the request's ``Host``, or ``""``."""
    for name, value in scope["headers"]:
        if name == b"host":
            hostname = _hostname(value)
            if hostname.endswith(suffix):
                label = hostname[: -len(suffix)]
                if label and b"." not in label:
                    return label.decode("latin-1")
            return ""
    return ""
