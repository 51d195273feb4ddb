"""One client connection to the front door: parse each request head, ask the gate, relay the bytes.

Owns the per-connection state machine. Requests are handled one at a time, in order (a pipelined
request waits, its events kept, until the one before it is answered). For each request to an app host
the gate decides (``Forward`` or ``Refuse``); a forwarded request is counted on its instance for as
long as it is in flight, its head rewritten (``heads``) and sent on a pooled ``Upstream``, its body
relayed piece by piece as it arrives, and the app's response relayed back the same way, with flow
control in both directions (reading from one side pauses while writing to the other is backed up).
A WebSocket handshake answered ``101`` becomes a raw tunnel until either side closes. A connection
whose first request is for the API host becomes a raw tunnel to the internal API server.

The quick path: a request that arrives whole in one read with a plain head (``plain.scan_request``),
for a Space the gate routes without a policy, is relayed without httptools, its head as sent with the
``X-Forwarded-*`` lines added; if the app's answer also comes whole and plain, it goes back as it came
(``quick_response``). Anything else on either side takes the parser's path, which handles every case.

It must not decide routes or render pages itself: the gate and ``pages`` (through ``heads``) do.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING, Final, cast

from httptools import HttpParserError, HttpParserUpgrade, HttpRequestParser

from orchestrator.proxy.frontdoor import heads
from orchestrator.proxy.frontdoor.eager import run_eagerly
from orchestrator.proxy.frontdoor.plain import scan_request
from orchestrator.proxy.frontdoor.upstream import Address, Upstream, no_delay
from orchestrator.proxy.gate import Forward, Refuse
from orchestrator.proxy.headers import Header, passes_as_is
from orchestrator.proxy.routes import Route, Unavailable

if TYPE_CHECKING:
    from orchestrator.proxy.frontdoor.door import FrontDoor

MAX_HEAD_BYTES: Final = 64 * 1024

# Why reading from the client is paused (a bit each; reading resumes when none is left).
_DECIDING: Final = 1
_CONNECTING: Final = 2
_QUEUED: Final = 4
_FLOW: Final = 8

_Head = tuple[bytes, bytes, list[Header], bool, bool, bool, bytes]
"""A request head waiting its turn: method, target, headers, keep-alive, upgrade, HTTP/1.1, and the
head as the client sent it when it may be forwarded so (see ``on_headers_complete``), else ``b""``."""

_Event = _Head | bytes | None
"""What the parser saw of a request that waits its turn: its head, a piece of body, or its end."""


def _refused(route: Route) -> Unavailable:
    return Unavailable(
        502,
        "The Space's app is not answering",
        f"The app is not accepting connections on port {route.port}; it may have crashed or be restarting.",
    )


_BROKEN: Final = Unavailable(
    502, "The Space's app is not answering", "The app closed the connection without answering."
)
_TOO_SLOW: Final = Unavailable(
    504, "The Space's app is not answering", "The app did not accept the connection in time."
)
_FAILED: Final = Unavailable(500, "The proxy failed", "The proxy could not route this request.")
_BAD_REQUEST: Final = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_TOO_LARGE: Final = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
)


class ClientConnection(asyncio.Protocol):
    """The front door's side of one client TCP connection."""

    def __init__(self, door: FrontDoor) -> None:
        self.door = door
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set in connection_made
        self.closed = False
        self.idle_since = time.monotonic()
        self._parser = HttpRequestParser(self)
        self._client_ip = b""
        self._url = b""
        self._headers: list[Header] = []
        self._head_bytes = 0
        self._between = True
        """No request has begun that the data read so far does not finish."""
        self._chunk = b""
        """The data being parsed, while the request in it began at its first byte."""
        self._plain = True
        """The request's headers so far are all end-to-end (``Connection: keep-alive`` aside)."""
        self._raw_head = b""
        self._host = b""
        self._first = True
        self._prefix: list[bytes] | None = []
        self._raw = False  # client bytes go to the upstream unparsed (tunnel or WebSocket handshake)
        self._quick = False
        """The request in flight took the quick path: its head was plain and came whole in one read."""
        self._quick_data = b""
        """What held that request, to read its headers from should the proxy have to answer it."""
        self._forwarded_host = b""
        self._forwarding_end = b""
        """``heads.forwarding_end`` for this client and ``_forwarded_host`` (one Host, as a rule)."""
        self._holds = 0
        self._write_paused = False
        self._backlog: deque[_Event] = deque()
        self._deciding: asyncio.Future[Forward | Refuse] | None = None
        self._connecting: asyncio.Task[Upstream] | None = None
        # The request in flight.
        self._active = False
        self._method = b""
        self._target = b""
        self._request: list[Header] = []
        self._keep_alive = True
        self._http11 = True
        self._upgrade: bytes | None = None
        self._expect_continue = False
        self._route: Route | None = None
        self._address: Address = ""
        self._started = 0.0
        self._status = 0
        self._bytes_in = 0
        self._bytes_out = 0
        self._head = b""
        self._pending: list[bytes] | None = None
        self._upstream: Upstream | None = None
        self._request_chunked = False
        self._request_done = False
        self._response_started = False
        self._response_done = False
        self._chunked_out = False
        self._until_close = False
        self._discard = False
        self._retried = False
        self._added: tuple[Header, ...] = ()
        self._eof = False
        self._out: list[bytes] = []
        """Bytes for the client, written at once by ``flush`` (a head and a small body: one syscall)."""

    @property
    def busy(self) -> bool:
        """Whether a request is in flight (or the connection is a tunnel)."""
        return self._active or self._raw or bool(self._backlog)

    # ----- asyncio: the client side -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        no_delay(self.transport)
        peer = transport.get_extra_info("peername")
        self._client_ip = peer[0].encode("latin-1") if isinstance(peer, tuple) else b""
        self.door.connections.add(self)

    def data_received(self, data: bytes) -> None:
        if self._raw:
            self._send_raw(data)
            return
        if self._between and not self._active and scan_request is not None and not self._backlog:
            scanned = scan_request(data)
            if scanned is not None and self._quick_request(data, scanned):
                return
        if self._prefix is not None:
            self._prefix.append(data)
        self._chunk = data if self._between else b""
        try:
            self._parser.feed_data(data)
        except HttpParserUpgrade as upgrade:
            rest = data[upgrade.args[0] :]
            self._raw = True
            if rest and self._prefix is None:
                self._send_raw(rest)
        except HttpParserError:
            if not self._raw:
                if not self._active and not self.transport.is_closing():
                    self.transport.write(_BAD_REQUEST)
                self.transport.close()
        if self._raw and self._prefix is not None:
            self._open_api_tunnel()

    def eof_received(self) -> bool | None:
        # In a tunnel each side's end of sending passes to the other; the connections close once both
        # sides have finished.
        upstream = self._upstream
        self._eof = True
        if self._raw and upstream is not None and upstream.peer is not None and not upstream.eof:
            upstream.transport.write_eof()
            return True
        return None

    def upstream_eof(self) -> bool | None:
        upstream = self._upstream
        if upstream is not None:
            upstream.eof = True
        if self._eof:
            self.transport.close()
            return None
        self.transport.write_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.door.connections.discard(self)
        for waiting in (self._deciding, self._connecting):
            if waiting is not None:
                waiting.cancel()
        upstream, self._upstream = self._upstream, None
        if upstream is not None:
            upstream.owner = None
            upstream.transport.abort()
        if self._active:
            self._end_request()

    def pause_writing(self) -> None:
        self._write_paused = True
        if self._upstream is not None:
            self._upstream.transport.pause_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._upstream is not None:
            self._upstream.transport.resume_reading()

    def _hold(self, reason: int) -> None:
        if not self._holds and not self.closed:
            self.transport.pause_reading()
        self._holds |= reason

    def _release(self, reason: int) -> None:
        if self._holds & reason:
            self._holds &= ~reason
            if not self._holds and not self.closed:
                self.transport.resume_reading()

    # ----- httptools: the client's requests -----------------------------------------------------

    def on_message_begin(self) -> None:
        self._between = False
        self._plain = True
        self._url = b""
        self._headers = []
        self._head_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value)
        if self._head_bytes > MAX_HEAD_BYTES:
            self.transport.write(_TOO_LARGE)
            self.transport.close()
            raise HttpParserError("request head too large")
        name = name.lower()
        self._headers.append((name, value))
        if not passes_as_is(name, value, request=True):
            self._plain = False

    def on_headers_complete(self) -> None:
        if self._raw:
            return
        parser = self._parser
        # The head as it came, when it began this read: forwarded as is, with X-Forwarded-* added.
        raw = heads.head_at_start(self._chunk) if self._plain and self._chunk else b""
        head = (
            parser.get_method(),
            self._url,
            self._headers,
            parser.should_keep_alive(),
            parser.should_upgrade(),
            parser.get_http_version() == "1.1",
            raw,
        )
        if self._active or self._backlog:
            self._backlog.append(head)
            self._hold(_QUEUED)
            return
        self._begin(*head)

    def on_body(self, body: bytes) -> None:
        if self._raw:
            return
        if self._backlog:
            self._backlog.append(body)
        else:
            self._request_body(body)

    def on_message_complete(self) -> None:
        self._between = True
        self._chunk = b""  # a next request in the same data does not start at its first byte
        if self._raw and self._prefix is not None:
            return
        if self._backlog:
            self._backlog.append(None)
        else:
            self._request_end()

    def _replay(self) -> None:
        """Take up queued requests once the one before them is answered."""
        backlog = self._backlog
        while backlog and not (self._active and isinstance(backlog[0], tuple)):
            event = backlog.popleft()
            if isinstance(event, tuple):
                self._begin(*event)
            elif event is None:
                self._request_end()
            else:
                self._request_body(event)
        if not backlog:
            self._release(_QUEUED)

    # ----- one request --------------------------------------------------------------------------

    def _quick_request(self, data: bytes, scanned: tuple[int, bytes, bytes, bytes, int]) -> bool:
        """Relay a plain request (``plain.scan_request``) that ``data`` holds whole, with its body, to a
        Space the gate routes without a policy and whose responses get no added headers: what
        ``_begin`` and ``_forward_to`` do, without httptools. ``False``: nothing done, parse it."""
        head_end, method, target, host, length = scanned
        if head_end + length != len(data):
            return False
        subdomain = self.door.subdomain_of(host)
        if not subdomain:
            return False
        route = self.door.gate.route_now(subdomain, target.partition(b"?")[0])
        if route is None or route.static_root is not None or route.response_headers:
            return False
        self._prefix = None
        self._first = False
        self._open_request(method, target, [], keep_alive=True, http11=True, quick=True)
        self._quick_data = data
        self._bytes_in = length
        self._request_done = True
        self._host = host
        self._route = route
        self._added = ()
        self.door.routes.opened(route.instance_id)
        self._address = (route.host, route.port)
        self._head = data[: head_end - 2] + self._forwarding_for(host)
        if length:
            self._pending = [data[head_end:]]
        self._send()
        return True

    def _open_request(
        self,
        method: bytes,
        target: bytes,
        headers: list[Header],
        *,
        keep_alive: bool,
        http11: bool,
        quick: bool,
    ) -> None:
        """The state of the request that begins now, as it is before its headers are looked at."""
        self._active = True
        self._quick = quick
        self._started = time.monotonic()
        self._method, self._target, self._request = method, target, headers
        self._keep_alive, self._http11 = keep_alive, http11
        self._status = self._bytes_in = self._bytes_out = 0
        self._request_done = self._response_started = self._response_done = False
        self._chunked_out = self._until_close = self._discard = self._retried = False
        self._request_chunked = self._expect_continue = False
        self._upgrade = None

    def _begin(
        self,
        method: bytes,
        target: bytes,
        headers: list[Header],
        keep_alive: bool,
        upgrade: bool,
        http11: bool,
        raw: bytes,
    ) -> None:
        self._open_request(method, target, headers, keep_alive=keep_alive, http11=http11, quick=False)
        host = b""
        upgrade_to: bytes | None = None
        for name, value in headers:
            if name == b"host":
                host = value
            elif name == b"transfer-encoding":
                self._request_chunked = True
            elif name == b"expect":
                self._expect_continue = value.lower() == b"100-continue"
            elif name == b"upgrade" and upgrade:
                upgrade_to = value
        self._upgrade = upgrade_to
        self._host = host
        self._raw_head = raw if http11 and not upgrade and raw.startswith(method) else b""
        if upgrade_to is not None:
            self._keep_alive = False  # after a refused or failed handshake the parser cannot go on
        subdomain = self.door.subdomain_of(host)
        first, self._first = self._first, False
        if not subdomain:
            if self.door.api_address is None:
                self._answer(self._refusal_for(subdomain or host.decode("latin-1")))
            elif first:
                self._raw = True  # the API server takes the connection as it is: see data_received
            else:
                self._prefix = None
                self._forward_to(self.door.api_address)
            return
        self._prefix = None
        self._decide(subdomain, headers, target)

    def _decide(self, subdomain: str, headers: list[Header], target: bytes) -> None:
        """Ask the gate where the request in flight goes (without a coroutine when no policy applies)."""
        path, _, query = target.partition(b"?")
        gate = self.door.gate
        route = gate.route_now(subdomain, path)
        if route is not None:
            self._route_to(route)
            return
        try:
            decision = run_eagerly(gate.decide(subdomain, headers, path, query))
        except Exception:
            self._answer(_FAILED)
            return
        if isinstance(decision, asyncio.Future):
            self._hold(_DECIDING)
            self._deciding = decision
            decision.add_done_callback(self._decided_later)
        else:
            self._decided(decision)

    @staticmethod
    def _refusal_for(name: str) -> Unavailable:
        return Unavailable(404, "No Space at this address", f"There is no Space at '{name}'.")

    def _decided_later(self, future: asyncio.Future[Forward | Refuse]) -> None:
        self._deciding = None
        if self.closed or future.cancelled():
            return
        self._release(_DECIDING)
        error = future.exception()
        if error is not None:
            self._answer(_FAILED)
        else:
            self._decided(future.result())

    def _decided(self, decision: Forward | Refuse) -> None:
        if isinstance(decision, Refuse):
            self._answer(decision.unavailable)
        else:
            self._route_to(decision.route)

    def _route_to(self, route: Route) -> None:
        if route.static_root is not None and self.door.api_address is not None:
            # A static Space has no app to relay to: the internal server's ProxyApp serves its files,
            # and counts and records the request itself.
            self._added = ()
            self._forward_to(self.door.api_address)
            return
        self._route = route
        self._added = route.response_headers
        self.door.routes.opened(route.instance_id)
        self._forward_to((route.host, route.port))

    def _forward_to(self, address: Address) -> None:
        self._address = address
        if self._raw_head and not self._request_chunked:
            self._head = self._raw_head + self._forwarding_for(self._host)
        else:
            self._head = heads.request_head(
                self._method,
                self._target,
                self._request,
                self._client_ip,
                chunked=self._request_chunked,
                upgrade=self._upgrade,
            )
        if self._expect_continue and self._http11:
            self.transport.write(heads.CONTINUE)
        self._send()

    def _forwarding_for(self, host: bytes) -> bytes:
        if host != self._forwarded_host:
            self._forwarded_host = host
            self._forwarding_end = heads.forwarding_end(self._client_ip, host)
        return self._forwarding_end

    def _send(self) -> None:
        """Send the request in flight's head (and what body has come) to ``_address``."""
        upstream = self.door.pool.take(self._address)
        if upstream is not None:
            self._attach(upstream)
        else:
            self._connect(self._address)

    def _connect(self, address: Address) -> None:
        self._pending = self._pending or []
        self._hold(_CONNECTING)
        self._connecting = asyncio.ensure_future(self.door.pool.connect(address))
        self._connecting.add_done_callback(self._connected)

    def _connected(self, task: asyncio.Task[Upstream]) -> None:
        self._connecting = None
        if task.cancelled():
            return
        error = task.exception()
        if self.closed:
            if error is None:
                self.door.pool.give(task.result())
            return
        self._release(_CONNECTING)
        if isinstance(error, TimeoutError):
            self._answer(_TOO_SLOW)
        elif error is not None:
            self._answer(_refused(self._route) if self._route is not None else _BROKEN)
        else:
            self._attach(task.result())

    def _attach(self, upstream: Upstream) -> None:
        self._upstream = upstream
        upstream.owner = self
        upstream.quick = self._quick and self._method != b"HEAD"
        if self._write_paused:
            upstream.transport.pause_reading()
        pending, self._pending = self._pending, None
        if pending:
            upstream.transport.writelines([self._head, *pending])
        else:
            upstream.transport.write(self._head)

    def _send_raw(self, data: bytes) -> None:
        if self._prefix is not None:  # the API tunnel is opening
            self._prefix.append(data)
            return
        upstream = self._upstream
        if upstream is not None and upstream.peer is not None:
            upstream.transport.write(data)
        elif upstream is not None and not self._response_started:
            upstream.transport.write(data)  # bytes after a WebSocket handshake, before the answer
        elif self._pending is not None:
            self._pending.append(data)
        elif self._active and not self._response_done:
            self._pending = [data]

    def _request_body(self, body: bytes) -> None:
        self._bytes_in += len(body)
        if self._discard:
            return
        pieces = heads.chunk(body) if self._request_chunked else [body]
        upstream = self._upstream
        if upstream is not None:
            upstream.transport.writelines(pieces)
        elif self._pending is not None:
            self._pending.extend(pieces)
        elif not self._response_done:
            self._pending = pieces

    def _request_end(self) -> None:
        self._request_done = True
        if self._request_chunked and not self._discard:
            if self._upstream is not None:
                self._upstream.transport.write(heads.LAST_CHUNK)
            elif self._pending is not None:
                self._pending.append(heads.LAST_CHUNK)
        if self._response_done and self._active:
            self._finish()

    def _answer(self, unavailable: Unavailable) -> None:
        """Answer the request in flight with the proxy's own page; the rest of its body is dropped."""
        self._status = unavailable.status_code
        if not self._request_done and (self._expect_continue or self._raw):
            self._keep_alive = False  # the client may or may not send the body: do not guess
        self._out.append(
            heads.refusal(
                unavailable,
                heads.header_list(self._quick_data) if self._quick else self._request,
                head_only=self._method == b"HEAD",
                close=not self._keep_alive,
            )
        )
        self._pending = None
        self._discard = True
        self._response_done = True
        if self._request_done or not self._keep_alive:
            self._finish()
        else:
            self.flush()

    def _finish(self) -> None:
        """The request and its response are both complete: next request, or close."""
        self.flush()
        self._end_request()
        if not self._keep_alive:
            self.transport.close()
            return
        if self._backlog:
            self._replay()

    def _end_request(self) -> None:
        self._active = False
        self._quick_data = b""
        self._release(_FLOW)
        now = self.idle_since = time.monotonic()
        route, self._route = self._route, None
        if route is not None:
            seconds = now - self._started
            self.door.gate.record(route, self._status, self._bytes_in, self._bytes_out, seconds, now)
            self.door.routes.closed(route.instance_id, now)

    # ----- the API tunnel -----------------------------------------------------------------------

    def _open_api_tunnel(self) -> None:
        assert self.door.api_address is not None
        self._hold(_CONNECTING)
        self._connecting = asyncio.ensure_future(self.door.pool.connect(self.door.api_address))
        self._connecting.add_done_callback(self._tunnel_opened)

    def _tunnel_opened(self, task: asyncio.Task[Upstream]) -> None:
        self._connecting = None
        if task.cancelled():
            return
        error = task.exception()
        if self.closed:
            if error is None:
                task.result().transport.close()
            return
        if error is not None:
            self.transport.write(heads.refusal(_BROKEN, self._headers, head_only=False, close=True))
            self.transport.close()
            return
        upstream = task.result()
        prefix, self._prefix = self._prefix or [], None
        upstream.peer = self.transport
        upstream.owner = self
        self._upstream = upstream
        upstream.transport.writelines(prefix)
        self._release(_CONNECTING)

    def flush(self) -> None:
        """Write what the response path has buffered (called after each piece of upstream input)."""
        if self._out:
            out, self._out = self._out, []
            if not self.closed:
                self.transport.writelines(out)

    # ----- Owner: the app's response ------------------------------------------------------------

    def response_head(
        self,
        upstream: Upstream,
        status: int,
        reason: bytes,
        headers: list[Header],
        sized: bool,
        chunked: bool,
        raw: bytes,
    ) -> None:
        if upstream.peer is not None:  # the API tunnel never parses
            return
        self._status = status
        if status < 200:
            if status == 101 and self._upgrade is not None:
                self._response_started = True
                upgrade = next((value for name, value in headers if name == b"upgrade"), self._upgrade)
                self._out.append(
                    heads.response_head(
                        101, reason, headers, self._added, chunked=False, close=False, upgrade=upgrade
                    )
                )
                upstream.peer = self.transport
                pending, self._pending = self._pending, None
                if pending:
                    upstream.transport.writelines(pending)
            elif self._http11:
                self._out.append(heads.response_head(status, reason, headers, (), chunked=False, close=False))
            return
        self._response_started = True
        bodiless = self._method == b"HEAD" or status in (204, 304)
        if not bodiless and not sized:
            # The parser takes the app's chunks apart; they are framed again for the client.
            self._until_close = not chunked
            if self._http11:
                self._chunked_out = True
            else:
                self._keep_alive = False
        if raw and self._keep_alive and not self._chunked_out and not self._added:
            # Nothing to rewrite: the app's own head goes on as it came.
            self._out.append(raw)
            self._out.append(heads.CRLF)
        else:
            self._out.append(
                heads.response_head(
                    status,
                    reason,
                    headers,
                    self._added,
                    chunked=self._chunked_out,
                    close=not self._keep_alive,
                )
            )
        if self._method == b"HEAD":
            self._upstream = None
            upstream.finish_early()
            self._response_end()

    def quick_response(self, upstream: Upstream, status: int, data: bytes, length: int) -> None:
        """The whole, plain answer to a quick request, in ``data``: on to the client as it came."""
        self._status = status
        self._bytes_out = length
        self._response_started = True
        self._out.append(data)
        self.response_end(upstream, True)

    def response_body(self, data: bytes) -> None:
        self._bytes_out += len(data)
        if self._chunked_out:
            self._out += heads.chunk(data)
        else:
            self._out.append(data)

    def response_end(self, upstream: Upstream, keep_alive: bool) -> None:
        self._upstream = None
        if keep_alive and self._request_done:
            self.door.pool.give(upstream)
        else:
            upstream.owner = None
            upstream.transport.close()
            self._discard = True
        self._response_end()

    def _response_end(self) -> None:
        if self._chunked_out:
            self._out.append(heads.LAST_CHUNK)
        self._response_done = True
        if self._request_done or not self._keep_alive:
            self._finish()

    def upstream_lost(self, upstream: Upstream) -> None:
        if upstream is not self._upstream:
            return
        self._upstream = None
        if upstream.peer is not None:  # a tunnel: the client's side goes too
            self.flush()
            self.transport.close()
            return
        if not self._response_started:
            if upstream.reused and not upstream.answered and not self._retried and not self._bytes_in:
                self._retried = True  # the app closed an idle connection just as we reused it
                self._connect(self._address)
                return
            self._keep_alive = self._keep_alive and self._request_done
            self._answer(_BROKEN)
        elif self._until_close:
            self._response_end()
        else:
            self.flush()
            self.transport.close()  # the app broke off: the client sees a truncated response

    def upstream_paused(self) -> None:
        self._hold(_FLOW)

    def upstream_resumed(self) -> None:
        self._release(_FLOW)
