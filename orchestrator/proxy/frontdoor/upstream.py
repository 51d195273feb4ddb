"""Connections from the front door to Spaces' apps (and to the control plane's API), and their pool.

Owns one ``Upstream`` protocol per TCP or unix-socket connection: it parses the app's responses with
httptools and hands status, headers and body pieces to its current ``Owner`` (the client connection
whose request it carries), or, once switched to a tunnel (a WebSocket after ``101``, the API relay),
writes whatever arrives straight to the peer transport. The answer to a quick request (see ``client``)
that arrives whole with a plain head goes to ``Owner.quick_response`` without parsing. ``Pool`` keeps
idle keep-alive connections per address and closes them before the app would. Nothing here decides
routes or writes to clients itself except in tunnel mode.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Protocol, cast

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from orchestrator.proxy.frontdoor.heads import head_at_start
from orchestrator.proxy.frontdoor.plain import scan_response
from orchestrator.proxy.headers import Header, passes_as_is

Address = tuple[str, int] | str
"""``(host, port)`` for TCP, a path for a unix socket."""

CONNECT_TIMEOUT_SECONDS = 10.0
# Below uvicorn's default keep-alive (5 s), so a pooled connection is not reused just as the app closes it.
KEEPALIVE_EXPIRY_SECONDS = 4.0


def no_delay(transport: asyncio.Transport) -> None:
    """Send small writes at once (a head, then a body): Nagle's algorithm would hold the second one
    until the first is acknowledged, up to the peer's delayed-ACK timeout (40 ms on Linux)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Owner(Protocol):
    """What an ``Upstream`` reports to the client connection it is serving."""

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
        """The app's status and headers; its body is ``sized`` (Content-Length), ``chunked``, or neither
        (it ends when the app closes the connection). ``raw``: the head as the app sent it, status line
        and header lines without the blank line, when it is HTTP/1.1 and holds no hop-by-hop header but
        ``Connection: keep-alive`` (so it may go to the client as it is); else ``b""``."""

    def quick_response(self, upstream: Upstream, status: int, data: bytes, length: int) -> None:
        """The whole response to a quick request, in ``data``: a plain head (``plain.scan_response``)
        and a body of ``length`` bytes; ``upstream`` is free for the next request."""

    def response_body(self, data: bytes) -> None: ...

    def flush(self) -> None:
        """Write to the client what the callbacks of one piece of input produced."""

    def response_end(self, upstream: Upstream, keep_alive: bool) -> None: ...

    def upstream_lost(self, upstream: Upstream) -> None:
        """The connection closed (or broke the protocol) before ``response_end``, or while tunnelling."""

    def upstream_eof(self) -> bool | None:
        """A tunnelled app finished sending; ``True`` keeps the connection open for the other way."""

    def upstream_paused(self) -> None:
        """Too much is waiting to be written to the app: stop reading from the client."""

    def upstream_resumed(self) -> None: ...


class Upstream(asyncio.Protocol):
    """One connection to an app: a response parser, or a raw tunnel to ``peer``."""

    def __init__(self, pool: Pool, address: Address) -> None:
        self.pool = pool
        self.address = address
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # set in connection_made
        self.owner: Owner | None = None
        self.peer: asyncio.Transport | None = None
        """Set when tunnelling: everything read goes to this transport unparsed."""
        self.answered = False
        """Whether any byte of the current response has arrived (a reused connection closed before that
        may be retried)."""
        self.reused = False
        self.idle_since = 0.0
        self.closed = False
        self.eof = False
        """A tunnelled app has finished sending."""
        self.quick = False
        """The request sent took the quick path: a response that comes whole, with a plain head, goes
        to ``Owner.quick_response`` unparsed."""
        self._parser = HttpResponseParser(self)
        self._headers: list[Header] = []
        self._reason = b""
        self._sized = False
        self._chunked = False
        self._informational = False
        self._between = True
        """No response has begun that the data read so far does not finish."""
        self._chunk = b""
        """The data being parsed, while the response in it began at its first byte."""
        self._plain = True
        """The response's headers so far are all end-to-end (``Connection: keep-alive`` aside)."""

    # ----- asyncio ------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        no_delay(self.transport)

    def data_received(self, data: bytes) -> None:
        if self.peer is not None:
            self.peer.write(data)
            return
        self.answered = True
        owner = self.owner
        if self.quick:
            self.quick = False
            if scan_response is not None and owner is not None:
                scanned = scan_response(data)
                if scanned is not None and scanned[0] + scanned[2] == len(data):
                    owner.quick_response(self, scanned[1], data, scanned[2])
                    return
        self._chunk = data if self._between else b""
        try:
            self._parser.feed_data(data)
        except HttpParserUpgrade as upgrade:
            if owner is not None:
                owner.flush()
            rest = data[upgrade.args[0] :]
            if rest and self.peer is not None:
                self.peer.write(rest)
        except HttpParserError:
            self.transport.close()
        if owner is not None:
            owner.flush()

    def eof_received(self) -> bool | None:
        if self.peer is not None and self.owner is not None:
            return self.owner.upstream_eof()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.discard(self)
        owner, self.owner = self.owner, None
        if owner is not None:
            owner.upstream_lost(self)
        elif self.peer is not None:
            self.peer.close()

    def pause_writing(self) -> None:
        if self.owner is not None:
            self.owner.upstream_paused()

    def resume_writing(self) -> None:
        if self.owner is not None:
            self.owner.upstream_resumed()

    # ----- httptools ----------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._between = False
        self._plain = True

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if not passes_as_is(name, value, request=False):
            self._plain = False
        if name == b"content-length":
            self._sized = True
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            self._chunked = True
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        headers, reason, sized, chunked = self._headers, self._reason, self._sized, self._chunked
        self._headers, self._reason, self._sized, self._chunked = [], b"", False, False
        self._informational = 100 <= status < 200 and status != 101
        chunk = self._chunk
        raw = head_at_start(chunk) if self._plain and chunk.startswith(b"HTTP/1.1 ") else b""
        if self.owner is not None:
            self.owner.response_head(self, status, reason, headers, sized and not chunked, chunked, raw)

    def on_body(self, body: bytes) -> None:
        if self.owner is not None:
            self.owner.response_body(body)

    def on_message_complete(self) -> None:
        self._between = True
        self._chunk = b""  # a next response in the same data does not start at its first byte
        if self._informational:
            self._informational = False
            return
        if self.peer is None and self.owner is not None:
            self.owner.response_end(self, self._parser.should_keep_alive())

    # ----- for the owner ------------------------------------------------------------------------

    def finish_early(self) -> None:
        """The owner ended the response itself (``HEAD``): the parser would wait for a body, so this
        connection cannot serve another request."""
        self.owner = None
        self.transport.close()


class Pool:
    """Idle keep-alive connections by address; new ones on demand."""

    def __init__(self, expiry_seconds: float = KEEPALIVE_EXPIRY_SECONDS) -> None:
        self.expiry_seconds = expiry_seconds
        self._idle: dict[Address, list[Upstream]] = {}

    def take(self, address: Address) -> Upstream | None:
        """The most recently used idle connection to ``address``, if any."""
        idle = self._idle.get(address)
        while idle:
            upstream = idle.pop()
            if not upstream.closed and not upstream.transport.is_closing():
                upstream.reused = True
                upstream.answered = False
                return upstream
        return None

    def give(self, upstream: Upstream) -> None:
        """Keep ``upstream`` for the next request to its address."""
        upstream.owner = None
        upstream.idle_since = time.monotonic()
        upstream.transport.resume_reading()
        self._idle.setdefault(upstream.address, []).append(upstream)

    def discard(self, upstream: Upstream) -> None:
        idle = self._idle.get(upstream.address)
        if idle and upstream in idle:
            idle.remove(upstream)

    async def connect(self, address: Address) -> Upstream:
        """A new connection to ``address`` (``TimeoutError`` after ``CONNECT_TIMEOUT_SECONDS``)."""
        loop = asyncio.get_running_loop()
        if isinstance(address, str):
            opening = loop.create_unix_connection(lambda: Upstream(self, address), address)
        else:
            opening = loop.create_connection(lambda: Upstream(self, address), address[0], address[1])
        _, upstream = await asyncio.wait_for(opening, CONNECT_TIMEOUT_SECONDS)
        return upstream

    def sweep(self, now: float) -> None:
        """Close connections idle for longer than ``expiry_seconds``."""
        for idle in self._idle.values():
            for upstream in [u for u in idle if now - u.idle_since > self.expiry_seconds]:
                upstream.transport.close()

    def close(self) -> None:
        for idle in list(self._idle.values()):
            for upstream in list(idle):
                upstream.transport.close()
        self._idle.clear()
