"""``Gate.route_now`` (the relays' no-coroutine shortcut) against ``Gate.decide`` (the policy), over
every combination of the conditions the policy looks at: the shortcut answers only where ``decide``
would forward to the same route without asking anyone, and it does answer for a public, awake Space."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from orchestrator.proxy.gate import SIGN_IN_PATH, Asleep, Forward, Gate, Headers
from orchestrator.proxy.routes import Route, RouteTable, Unavailable


class Policies:
    """Records each call the gate makes to its policy hooks."""

    def __init__(self, routes: RouteTable) -> None:
        self.routes = routes
        self.calls: list[str] = []

    async def describe(self, subdomain: str) -> Unavailable | None:
        self.calls.append("describe")
        return None

    async def admit(self, subdomain: str, owner: str, headers: Headers) -> bool:
        self.calls.append("admit")
        return True

    def sign_in(self, subdomain: str, query: bytes) -> Unavailable:
        self.calls.append("sign_in")
        return Unavailable(303, "Signed in", "")

    def asleep(self, subdomain: str) -> Asleep | None:
        return None

    async def thaw(self, route: Route) -> None:
        self.calls.append("thaw")
        self.routes.frozen.discard(route.instance_id)

    def wake(self, subdomain: str) -> asyncio.Future[None]:
        raise AssertionError("no Space here sleeps stopped")


_CASES = list(
    itertools.product(
        (True, False),  # a route
        (None, "alice"),  # private owner
        (False, True),  # frozen
        (b"/", SIGN_IN_PATH),  # path
        (False, True),  # sign-in configured
        (False, True),  # sleep configured
    )
)


@pytest.mark.parametrize(("has_route", "owner", "frozen", "path", "with_sign_in", "with_sleep"), _CASES)
async def test_route_now_answers_only_where_decide_would_forward_without_asking(
    has_route: bool, owner: str | None, frozen: bool, path: bytes, with_sign_in: bool, with_sleep: bool
) -> None:
    routes = RouteTable()
    route = Route("i1", "127.0.0.1", 1, private_owner=owner, space="alice/x")
    if has_route:
        routes.set("alice-x", route)
        if frozen:
            routes.frozen.add("i1")
    policies = Policies(routes)
    gate = Gate(
        routes,
        policies.describe,
        policies.admit,
        sleep=policies if with_sleep else None,
        sign_in=policies.sign_in if with_sign_in else None,
    )
    shortcut = gate.route_now("alice-x", path)
    decision = await gate.decide("alice-x", [], path)
    if shortcut is not None:
        assert decision == Forward(shortcut) and shortcut == route
        assert policies.calls == []  # nothing decide did needed a policy
    needs_policy = owner is not None or frozen or (path == SIGN_IN_PATH and with_sign_in)
    if has_route and not needs_policy:
        assert shortcut is not None, "a public, awake Space should need no coroutine"
