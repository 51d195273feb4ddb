"""The gate: for one request to ``{subdomain}.{domain}``, decide where it goes or what it gets instead.

Every front end that carries app traffic (the ASGI ``ProxyApp``, a faster byte relay) asks the gate once
per request, with the subdomain and the request headers, and gets either ``Forward`` (the route to relay
to) or ``Refuse`` (a page to answer with). Everything that is policy rather than transport lives here:
which instance serves a Space, who may see a private Space, what a visitor sees while a Space builds,
sleeps or is paused. Keeping it out of the relays keeps them small and lets them be swapped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from orchestrator.proxy.routes import Route, RouteTable, Unavailable

Headers = Sequence[tuple[bytes, bytes]]
"""Request headers as ASGI gives them: lower-case names, raw bytes."""

Describe = Callable[[str], Awaitable[Unavailable | None]]
"""What to show for a subdomain without a route (``None``: no such Space)."""

Admit = Callable[[Route, Headers], Awaitable[bool]]
"""Whether a request may reach a private Space's route (called only for routes with ``private_owner``)."""


@dataclass(frozen=True)
class Forward:
    route: Route


@dataclass(frozen=True)
class Refuse:
    unavailable: Unavailable


def no_space(subdomain: str) -> Unavailable:
    return Unavailable(404, "No Space at this address", f"There is no Space at '{subdomain}'.")


class Gate:
    """The default policy: the route table, private Spaces for their owner, ``describe`` otherwise."""

    def __init__(self, routes: RouteTable, describe: Describe, admit: Admit | None = None) -> None:
        self.routes = routes
        self._describe = describe
        self._admit = admit

    async def decide(self, subdomain: str, headers: Headers) -> Forward | Refuse:
        route = self.routes.get(subdomain)
        if route is None:
            return Refuse(await self._describe(subdomain) or no_space(subdomain))
        if route.private_owner is not None and not (self._admit and await self._admit(route, headers)):
            return Refuse(no_space(subdomain))  # a private Space looks exactly like no Space
        return Forward(route)
