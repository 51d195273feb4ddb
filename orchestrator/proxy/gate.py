"""The gate: for one request to ``{subdomain}.{domain}``, decide where it goes or what it gets instead.

Every front end that carries app traffic (the ASGI ``ProxyApp``, a faster byte relay) asks the gate once
per request, with the subdomain, the request headers and the path, and gets either ``Forward`` (the route
to relay to, and the headers to add to the response) or ``Refuse`` (a page to answer with); when the
request is done it calls ``record`` once. Everything that is policy rather than transport lives here:
which instance serves a Space, who may see a private Space, the sign-in hand-off that gives a browser its
cookie on an app host, waking a sleeping Space (holding the request meanwhile), what a visitor sees while
a Space builds, sleeps or is paused. Keeping it out of the relays keeps them small and lets them be
swapped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from orchestrator.proxy.metrics import TrafficMetrics
from orchestrator.proxy.routes import Route, RouteTable, Unavailable

Headers = Sequence[tuple[bytes, bytes]]
"""Request headers as ASGI gives them: lower-case names, raw bytes."""

Describe = Callable[[str], Awaitable[Unavailable | None]]
"""What to show for a subdomain without a route (``None``: no such Space)."""

Admit = Callable[[str, str, Headers], Awaitable[bool]]
"""Whether a request to ``subdomain`` may reach a private Space of ``owner`` (token or sign-in cookie)."""

SignIn = Callable[[str, bytes], Unavailable]
"""The answer to ``SIGN_IN_PATH`` on an app host, given the subdomain and the query string: a redirect
that sets the app host's session cookie, or an error page."""

SIGN_IN_PATH = b"/.spaces/sign-in"
"""Path on every app host where the control plane's sign-in hands a browser its cookie for that host."""

DEFAULT_HOLD_SECONDS = 20.0


@dataclass(frozen=True)
class Asleep:
    """A Space that is stopped for sleep: it has no route, and a request wakes it."""

    private_owner: str | None = None


class Sleep(Protocol):
    """The idle controller, as the gate sees it (``orchestrator.control.idle`` implements it)."""

    def asleep(self, subdomain: str) -> Asleep | None:
        """The stopped-for-sleep Space at ``subdomain``, if any (cheap, no I/O)."""

    async def thaw(self, route: Route) -> None:
        """Unfreeze the instance behind ``route``; concurrent callers share one thaw."""

    def wake(self, subdomain: str) -> asyncio.Future[None]:
        """Start the Space at ``subdomain`` again (once, however many ask); done when it has a route
        or has failed to get one."""


@dataclass(frozen=True)
class Forward:
    route: Route

    @property
    def response_headers(self) -> tuple[tuple[bytes, bytes], ...]:
        """Headers every relay adds to the app's response (replacing the app's own of the same name)."""
        return self.route.response_headers


@dataclass(frozen=True)
class Refuse:
    unavailable: Unavailable


def no_space(subdomain: str) -> Unavailable:
    return Unavailable(404, "No Space at this address", f"There is no Space at '{subdomain}'.")


def waking_up(subdomain: str) -> Unavailable:
    return Unavailable(
        503,
        "This Space is waking up",
        f"'{subdomain}' was asleep and is starting; this page reloads by itself.",
    )


class Gate:
    """The default policy: the route table, private Spaces for their owner, sleeping Spaces woken on
    request, ``describe`` otherwise."""

    def __init__(
        self,
        routes: RouteTable,
        describe: Describe,
        admit: Admit | None = None,
        *,
        sleep: Sleep | None = None,
        sign_in: SignIn | None = None,
        hold_seconds: float = DEFAULT_HOLD_SECONDS,
        metrics: TrafficMetrics | None = None,
    ) -> None:
        self.routes = routes
        self.metrics = metrics or TrafficMetrics()
        self.sleep = sleep
        self.hold_seconds = hold_seconds
        self._describe = describe
        self._admit = admit
        self._sign_in = sign_in

    async def decide(
        self, subdomain: str, headers: Headers, path: bytes = b"", query: bytes = b""
    ) -> Forward | Refuse:
        """Where one request goes. ``path`` (raw, without the query) is needed only for sign-in.

        A policy added here must also make ``route_now`` answer ``None``: relays ask it first
        (``tests/unit/test_gate.py`` checks the two over every case the policy knows).
        """
        if path == SIGN_IN_PATH and self._sign_in is not None:
            return Refuse(self._sign_in(subdomain, query))
        route = self.routes.get(subdomain)
        if route is None:
            return await self._without_route(subdomain, headers)
        if route.private_owner is not None and not await self._admitted(
            subdomain, route.private_owner, headers
        ):
            return Refuse(no_space(subdomain))  # a private Space looks exactly like no Space
        if route.instance_id in self.routes.frozen and self.sleep is not None:
            await self.sleep.thaw(route)
        return Forward(route)

    def route_now(self, subdomain: str, path: bytes) -> Route | None:
        """The route for a request that no policy applies to (a public, awake Space, not the sign-in
        path), answered without a coroutine; ``None``: ask ``decide``."""
        route = self.routes.get(subdomain)
        if (
            route is None
            or route.private_owner is not None
            or route.instance_id in self.routes.frozen
            or (path == SIGN_IN_PATH and self._sign_in is not None)
        ):
            return None
        return route

    def record(
        self, route: Route, status: int, bytes_in: int, bytes_out: int, seconds: float, now: float = 0.0
    ) -> None:
        """Count one finished request to ``route`` (relays call this once per forwarded request);
        ``now``: ``time.monotonic()`` at its end, if the caller has it."""
        self.metrics.record(route.space or route.instance_id, status, bytes_in, bytes_out, seconds, now)

    async def _admitted(self, subdomain: str, owner: str, headers: Headers) -> bool:
        return self._admit is not None and await self._admit(subdomain, owner, headers)

    async def _without_route(self, subdomain: str, headers: Headers) -> Forward | Refuse:
        asleep = self.sleep.asleep(subdomain) if self.sleep is not None else None
        if asleep is None or self.sleep is None:
            return Refuse(await self._describe(subdomain) or no_space(subdomain))
        if asleep.private_owner is not None and not await self._admitted(
            subdomain, asleep.private_owner, headers
        ):
            return Refuse(no_space(subdomain))
        try:
            await asyncio.wait_for(asyncio.shield(self.sleep.wake(subdomain)), self.hold_seconds)
        except TimeoutError:
            return Refuse(waking_up(subdomain))
        route = self.routes.get(subdomain)
        if route is None:  # it failed to start: the stage says why
            return Refuse(await self._describe(subdomain) or no_space(subdomain))
        return Forward(route)
