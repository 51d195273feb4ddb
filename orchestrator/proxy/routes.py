"""The proxy's routing table: which running instance serves each Space subdomain, and who is using it.

Owns the mapping ``subdomain -> Route`` and the count of connections (HTTP requests in flight and open
WebSockets) the proxy is carrying to each instance, so that the control plane can drain an old
version before stopping it, and when each instance was last used and whether it is frozen, so that the
idle controller can put it to sleep. It does no I/O and must stay safe to call from the event loop
thread only.

A route swap is atomic because a request picks its ``Route`` and starts being counted in one step with
no ``await`` in between: requests already in flight keep the ``Route`` they picked (and finish on the
old instance), later ones see the new one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    """Where a Space's app listens: one running instance of one version of the Space."""

    instance_id: str
    host: str
    port: int
    private_owner: str | None = None
    """Set for a private Space: only its owner (and admins) may pass, others see no Space at all."""
    space: str = ""
    """The Space's id (``owner/name``), naming it in metrics."""
    response_headers: tuple[tuple[bytes, bytes], ...] = ()
    """Headers added to every response (``custom_headers``, the framing policy); lower-case names."""
    static_root: str | None = None
    """Set for a static Space: the folder the proxy serves itself (``orchestrator.proxy.static``)."""
    index: str = "index.html"
    """The page a static Space serves at ``/``."""


@dataclass(frozen=True)
class Unavailable:
    """Why a Space without a route cannot answer, as the page the visitor will see."""

    status_code: int
    title: str
    message: str
    headers: tuple[tuple[bytes, bytes], ...] = ()
    """Extra response headers (a redirect's ``Location``, a ``Set-Cookie``)."""


class RouteTable:
    """Routes by subdomain, plus the connections currently open to each instance."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._open: dict[str, int] = {}
        self._idle_waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._last_active: dict[str, float] = {}
        self.frozen: set[str] = set()
        """Instances whose processes are frozen: the gate thaws one before forwarding to it."""

    def set(self, subdomain: str, route: Route) -> None:
        """Send new requests for ``subdomain`` to ``route``; requests in flight are not affected."""
        self._routes[subdomain] = route
        self._last_active.setdefault(route.instance_id, time.monotonic())

    def remove(self, subdomain: str) -> None:
        """Stop routing ``subdomain``; it is not an error if it had no route."""
        self._routes.pop(subdomain, None)

    def get(self, subdomain: str) -> Route | None:
        return self._routes.get(subdomain)

    def all(self) -> dict[str, Route]:
        """A copy of every route, by subdomain."""
        return dict(self._routes)

    def idle_seconds(self, instance_id: str, now: float | None = None) -> float:
        """Seconds since ``instance_id`` last carried a connection (0 while one is open)."""
        if self._open.get(instance_id):
            return 0.0
        now = time.monotonic() if now is None else now
        return now - self._last_active.setdefault(instance_id, now)

    def forget(self, instance_id: str) -> None:
        """Drop what is known about a stopped instance's activity."""
        self._last_active.pop(instance_id, None)
        self.frozen.discard(instance_id)

    def open_connections(self, instance_id: str) -> int:
        """HTTP requests in flight plus open WebSockets the proxy carries to ``instance_id``."""
        return self._open.get(instance_id, 0)

    async def wait_idle(self, instance_id: str, timeout: float) -> bool:
        """Wait until ``instance_id`` carries no connection; ``False`` if ``timeout`` seconds pass first."""
        if not self._open.get(instance_id):
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._idle_waiters.setdefault(instance_id, [])
        waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return False
        finally:
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiters and self._idle_waiters.get(instance_id) is waiters:
                del self._idle_waiters[instance_id]
        return True

    def opened(self, instance_id: str) -> None:
        """Count one more connection to ``instance_id`` (until the matching ``closed``)."""
        self._open[instance_id] = self._open.get(instance_id, 0) + 1

    def closed(self, instance_id: str, now: float = 0.0) -> None:
        """One connection counted by ``opened`` has ended (``now``: ``time.monotonic()``, if known)."""
        self._last_active[instance_id] = now or time.monotonic()
        left = self._open[instance_id] - 1
        if left:
            self._open[instance_id] = left
        else:
            del self._open[instance_id]
            for waiter in self._idle_waiters.pop(instance_id, ()):
                if not waiter.done():
                    waiter.set_result(None)

    @contextmanager
    def connection(self, instance_id: str) -> Iterator[None]:
        """Count one connection to ``instance_id`` for the duration of the ``with`` block."""
        self.opened(instance_id)
        try:
            yield
        finally:
            self.closed(instance_id)
