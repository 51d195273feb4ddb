"""What admission answers, and why: each decision carries an :class:`Explanation` that the API returns
and ``spaces admin explain`` prints (which quota, which node and devices, who holds what, why not).

* :class:`Admitted` — run it, on these devices;
* :class:`Preempt` — stop these Spaces first (``sleep`` the idle ones, ``evict`` and requeue busy ones);
* :class:`Pending` — it waits, at this position, for this reason;
* :class:`Rejected` — it can never run as asked here (flavor not offered, no quota for it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from orchestrator.scheduling.devices import Placement, Shortage
from orchestrator.scheduling.quota_fit import QuotaCheck
from orchestrator.scheduling.workloads import Admission, SpaceRequest


class Action(StrEnum):
    SLEEP = "sleep"
    """An idle Space: it sleeps, holds nothing, and wakes through admission on its next visit."""
    EVICT = "evict"
    """A busy Space: it stops and waits in the queue to run again (Kueue's preemption)."""


@dataclass(frozen=True)
class Target:
    space: str
    team: str | None
    flavor: str
    action: Action
    why: str


@dataclass(frozen=True)
class Explanation:
    space: str
    flavor: str
    team: str | None
    outcome: str
    summary: str
    """One sentence for the user: what happens and why."""
    quota: tuple[QuotaCheck, ...] = ()
    placement: Placement | Shortage | None = None
    targets: tuple[Target, ...] = ()
    holders: tuple[str, ...] = ()
    """Who holds what the request needs (only when asked for in detail)."""
    position: int | None = None
    notes: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """The explanation as ``spaces admin explain`` prints it."""
        out = [f"{self.space}: {self.outcome} — {self.summary}"]
        out.append(f"  flavor {self.flavor}, team {self.team or '(none)'}")
        out.extend(f"  quota: {check.describe()}" for check in self.quota)
        if isinstance(self.placement, Placement) and self.placement.devices:
            ids = ", ".join(d.visible_id or d.id for d in self.placement.devices)
            out.append(f"  node {self.placement.node}: {ids}")
        elif isinstance(self.placement, Shortage):
            if not self.placement.per_node:
                out.append("  devices: none suitable on any node that admits the flavor")
            for node, free, total in self.placement.per_node:
                out.append(
                    f"  node {node}: {free} of {total} suitable devices free, needs {self.placement.wanted}"
                )
            if self.placement.blocked_by_tenancy:
                out.append(
                    f"  {self.placement.blocked_by_tenancy} time-sliced replicas free on cards another team"
                    " uses"
                    " (one team per card: no memory isolation)"
                )
        out.extend(
            f"  {t.action.value} {t.space} ({t.team or 'no team'}, {t.flavor}): {t.why}" for t in self.targets
        )
        out.extend(f"  held by {holder}" for holder in self.holders)
        out.extend(f"  {note}" for note in self.notes)
        return out

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["placement_kind"] = type(self.placement).__name__ if self.placement is not None else None
        return data


@dataclass(frozen=True)
class Admitted:
    request: SpaceRequest
    admission: Admission
    explanation: Explanation


@dataclass(frozen=True)
class Preempt:
    request: SpaceRequest
    targets: tuple[Target, ...]
    explanation: Explanation


@dataclass(frozen=True)
class Pending:
    request: SpaceRequest
    reason: str
    explanation: Explanation
    position: int | None = None
    """1-based place among the team's requests waiting for the same flavor."""
    waiting_for: tuple[str, ...] = field(default_factory=tuple)
    """Spaces being stopped to make room for this one."""


@dataclass(frozen=True)
class Rejected:
    request: SpaceRequest
    reason: str
    offered: tuple[str, ...]
    """The flavors this server can run, for the message's "available: ..." part."""
    explanation: Explanation


Decision = Admitted | Preempt | Pending | Rejected
