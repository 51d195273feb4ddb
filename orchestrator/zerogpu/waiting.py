"""The ZeroGPU queue: calls accepted but not yet placed on a device.

Owns the waiting tickets and their order. Priority is the visitor's quota left once all their
accepted calls are charged in full (so more quota left, and a shorter declared duration, go first: the
Hub's "remaining quota directly impacts priority" and "shorter durations improve queue priority"), then
arrival. The order is computed when a device frees up, from the quotas of that moment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.zerogpu.leases import CallRequest
from orchestrator.zerogpu.protocol import QueuingReason


@dataclass(frozen=True)
class Ticket:
    id: int
    call: CallRequest
    arrival: int
    enqueued_at: float
    expires_at: float
    reason: QueuingReason


class WaitingLine:
    def __init__(self) -> None:
        self._tickets: dict[int, Ticket] = {}
        self._arrivals = 0

    def __len__(self) -> int:
        return len(self._tickets)

    def add(self, call: CallRequest, now: float, timeout_s: float, reason: QueuingReason) -> Ticket:
        self._arrivals += 1
        ticket = Ticket(self._arrivals, call, self._arrivals, now, now + timeout_s, reason)
        self._tickets[ticket.id] = ticket
        return ticket

    def remove(self, ticket_id: int) -> Ticket | None:
        return self._tickets.pop(ticket_id, None)

    def get(self, ticket_id: int) -> Ticket | None:
        return self._tickets.get(ticket_id)

    def tickets(self) -> list[Ticket]:
        return list(self._tickets.values())

    def expired(self, now: float) -> list[Ticket]:
        return [ticket for ticket in self._tickets.values() if ticket.expires_at <= now]

    def next_expiry(self) -> float | None:
        return min((ticket.expires_at for ticket in self._tickets.values()), default=None)

    def in_priority_order(self, quota_left: Callable[[Ticket], float]) -> list[Ticket]:
        return sorted(self._tickets.values(), key=lambda ticket: (-quota_left(ticket), ticket.arrival))
