"""What asks for hardware and what holds it: a Space's request, and its admission once granted."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.scheduling.inventory import Device


@dataclass(frozen=True)
class SpaceRequest:
    """A Space asking to run (start, wake or hardware change) on ``flavor``."""

    space: str
    """``owner/name``."""
    owner: str
    flavor: str
    priority: int = 0


@dataclass(frozen=True)
class Admission:
    """A Space admitted on a flavor: the quota it counts against and the devices it holds."""

    space: str
    team: str | None
    flavor: str
    priority: int
    node: str | None
    devices: tuple[Device, ...]
    usage: tuple[tuple[str, int], ...]
    """(resource, amount) pairs counted against the team's quota for ``flavor``."""
    admitted_at: float
    seq: int
    """Admission order; the most recently admitted (highest) are preempted first among equals."""

    @property
    def visible_devices(self) -> str:
        """``CUDA_VISIBLE_DEVICES`` for the process runtime (UUIDs, comma-separated; empty: no GPU)."""
        seen: list[str] = []
        for device in self.devices:
            if device.visible_id and device.visible_id not in seen:
                seen.append(device.visible_id)
        return ",".join(seen)
