"""Visitors' daily GPU quotas: who may start a call of what length, and what each call costs.

Owns the per-visitor quota windows (pure state, no clock of its own: every method takes ``now``).

Semantics (the Hub's, where it documents them):

- A visitor is a key (``user:<name>``, ``ip:<address>``, or ``space:<id>`` for calls that carry no
  visitor token) with a tier; the tier's ``daily_s`` is the quota of one window.
- The window opens at the visitor's first accepted call and lasts ``quota_window_s`` (24 h): the Hub's
  "resets exactly 24 hours after your first GPU usage" (a fixed window, not a sliding one and not a
  calendar day). When it ends, usage drops to zero; calls still running carry their reservations into
  a new window that opens at that moment, so nothing running is ever lost or double-counted.
- A call reserves its full requested duration (x 2 for xlarge) when it is accepted, queued or running,
  and is refused while ``used + reserved + requested > daily``. On release the reservation becomes the
  real charge: the call's elapsed time x size factor, never more than it reserved. So a visitor can
  never spend past the quota, even with concurrent calls, and a call that ends early costs only what it
  used. (The Hub charges allocation time, success or not; so do we. A call whose device was never used,
  answered 204, costs nothing.)
- Refusals, in the client's terms: ``illegal-duration`` when one call asks more than the tier's per-call
  cap or daily quota (waiting would not help), ``runs-exceeded`` when the visitor already has
  ``max_active_calls`` calls queued or running, ``quota-exceeded`` with the seconds left and the wait
  until the window resets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from orchestrator.zerogpu.protocol import ApproveResult, AuthLevel
from orchestrator.zerogpu.settings import Tier, ZeroGPUSettings


@dataclass(frozen=True)
class Visitor:
    """Whose quota a call spends."""

    key: str
    tier: Tier

    @property
    def auth_level(self) -> AuthLevel | None:
        """The ``X-Authenticated`` header value: absent for anonymous visitors."""
        if self.tier is Tier.PRO:
            return "pro"
        if self.tier is Tier.REGULAR:
            return "regular"
        return None


@dataclass(frozen=True)
class Refusal:
    result: ApproveResult
    left_s: float
    wait_s: int
    """Negative: illegal duration; zero: runs limit; positive: seconds until the window resets."""


@dataclass(frozen=True)
class QuotaStatus:
    """What a user's "remaining quota" shows."""

    limit_s: float
    used_s: float
    reserved_s: float
    active_calls: int
    window_started_at: float | None
    resets_at: float | None

    @property
    def left_s(self) -> float:
        return self.limit_s - self.used_s - self.reserved_s


@dataclass
class _Window:
    started_at: float | None = None
    used_s: float = 0.0
    reserved_s: float = 0.0
    active: int = 0


@dataclass
class QuotaBook:
    settings: ZeroGPUSettings
    _windows: dict[str, _Window] = field(default_factory=dict)

    def _window(self, key: str, now: float) -> _Window:
        window = self._windows.setdefault(key, _Window())
        if window.started_at is not None and now >= window.started_at + self.settings.quota_window_s:
            window.used_s = 0.0
            window.started_at = now if window.active else None
        return window

    def status(self, visitor: Visitor, now: float) -> QuotaStatus:
        window = self._window(visitor.key, now)
        started = window.started_at
        return QuotaStatus(
            limit_s=float(self.settings.limits(visitor.tier).daily_s),
            used_s=window.used_s,
            reserved_s=window.reserved_s,
            active_calls=window.active,
            window_started_at=started,
            resets_at=None if started is None else started + self.settings.quota_window_s,
        )

    def left(self, visitor: Visitor, now: float) -> float:
        """Quota seconds left once every accepted call is charged in full: the queue's priority."""
        return self.status(visitor, now).left_s

    def check(self, visitor: Visitor, requested_s: float, now: float) -> Refusal | None:
        """Whether a call of ``requested_s`` quota seconds may be accepted now."""
        limits = self.settings.limits(visitor.tier)
        status = self.status(visitor, now)
        if requested_s > min(limits.call_cap_s, limits.daily_s):
            return Refusal("illegal-duration", status.left_s, -1)
        if status.active_calls >= self.settings.max_active_calls:
            return Refusal("runs-exceeded", status.left_s, 0)
        if requested_s > status.left_s:
            # A window is open here: only accepted calls make left_s fall below the daily quota.
            resets_at = status.resets_at if status.resets_at is not None else now
            # Whole seconds, as the client prints str(timedelta): "Try again in 23:59:59".
            return Refusal("quota-exceeded", status.left_s, max(1, math.floor(resets_at - now)))
        return None

    def reserve(self, visitor: Visitor, requested_s: float, now: float) -> None:
        window = self._window(visitor.key, now)
        if window.started_at is None:
            window.started_at = now
        window.reserved_s += requested_s
        window.active += 1

    def settle(self, visitor: Visitor, reserved_s: float, charged_s: float, now: float) -> float:
        """Turn a reservation into its charge (at most the reservation); returns the window it went to."""
        window = self._window(visitor.key, now)
        window.reserved_s = max(0.0, window.reserved_s - reserved_s)
        window.active = max(0, window.active - 1)
        window.used_s += min(charged_s, reserved_s)
        if window.started_at is None:
            window.started_at = now
        return window.started_at

    def restore(self, key: str, window_started_at: float, used_s: float, now: float) -> None:
        """Reload usage of a window still open (from the ledger, after a restart)."""
        if now >= window_started_at + self.settings.quota_window_s:
            return
        window = self._windows.setdefault(key, _Window())
        if window.started_at != window_started_at:
            window.started_at = window_started_at
            window.used_s = 0.0
        window.used_s += used_s
