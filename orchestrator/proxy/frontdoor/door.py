"""The front door server: listens on the public port and gives each connection a ``ClientConnection``.

Owns what the connections share: the gate (and through it the route table and metrics), the domain
suffix that marks app hosts, the internal address of the API server, the pool of upstream connections,
and a once-a-second sweep that closes idle keep-alive connections on both sides. It must not parse or
relay anything itself.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Final

from orchestrator.proxy.frontdoor import heads
from orchestrator.proxy.frontdoor.client import ClientConnection
from orchestrator.proxy.frontdoor.upstream import Address, Pool
from orchestrator.proxy.gate import Gate
from orchestrator.proxy.routes import RouteTable

CLIENT_KEEPALIVE_SECONDS = 75.0
"""How long an idle client connection is kept open (nginx's default)."""

SWEEP_SECONDS = 1.0

_SUBDOMAINS_REMEMBERED: Final = 4096


class FrontDoor:
    """HTTP/1.1 on the public port: app hosts through the gate, the API host to ``api_address``."""

    def __init__(
        self,
        gate: Gate,
        domain: str,
        api_address: Address | None,
        *,
        client_keepalive_seconds: float = CLIENT_KEEPALIVE_SECONDS,
    ) -> None:
        self.gate = gate
        self.routes: RouteTable = gate.routes
        self._suffix = b"." + heads.hostname(domain.encode("latin-1"))
        self.api_address = api_address
        self.pool = Pool()
        self.connections: set[ClientConnection] = set()
        self.client_keepalive_seconds = client_keepalive_seconds
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        self._subdomains: dict[bytes, str] = {}

    @property
    def suffix(self) -> bytes:
        """``.{domain}``: what ends every app host name."""
        return self._suffix

    @suffix.setter
    def suffix(self, suffix: bytes) -> None:
        self._suffix = suffix
        self._subdomains.clear()

    def subdomain_of(self, host: bytes) -> str:
        """``heads.subdomain_of`` with this door's suffix, remembered per ``Host`` value."""
        subdomain = self._subdomains.get(host)
        if subdomain is None:
            if len(self._subdomains) >= _SUBDOMAINS_REMEMBERED:
                self._subdomains.clear()
            subdomain = self._subdomains[host] = heads.subdomain_of(host, self._suffix)
        return subdomain

    async def start(self, host: str = "", port: int = 0, *, sock: socket.socket | None = None) -> None:
        """Listen on ``host:port`` (or on ``sock``, already bound)."""
        loop = asyncio.get_running_loop()
        if sock is not None:
            server = await loop.create_server(lambda: ClientConnection(self), sock=sock, backlog=2048)
        else:
            server = await loop.create_server(
                lambda: ClientConnection(self), host or None, port, backlog=2048, reuse_address=True
            )
        self._server = server
        self._sweeper = loop.call_later(SWEEP_SECONDS, self._sweep)

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.sockets
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def stop_accepting(self) -> None:
        """Stop taking new connections and close idle ones; requests in flight go on."""
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            if not connection.busy:
                connection.transport.close()

    async def close(self) -> None:
        """Stop accepting and close every connection, in flight or not."""
        self.stop_accepting()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for connection in list(self.connections):
            connection.transport.close()
        self.pool.close()
        if self._server is not None:
            await self._server.wait_closed()

    def _sweep(self) -> None:
        now = time.monotonic()
        self.pool.sweep(now)
        limit = self.client_keepalive_seconds
        for connection in [c for c in self.connections if not c.busy and now - c.idle_since > limit]:
            connection.transport.close()
        self._sweeper = asyncio.get_running_loop().call_later(SWEEP_SECONDS, self._sweep)
