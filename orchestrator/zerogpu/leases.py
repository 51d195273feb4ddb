"""Leases and the devices they hold: which call runs on which device, and which idle worker stays there.

Owns the device board of the scheduler (pure state): one lease at most per device, and per device the
worker process left behind by the last call that ended well (its "resident"). The client keeps that
worker alive and reuses it when the next grant for the same function says ``idle: true``, skipping
the fork, CUDA start and weight transfer. A resident holds GPU memory, so handing its device to another
Space or function first ends it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from orchestrator.zerogpu.pool import ZeroDevice
from orchestrator.zerogpu.protocol import SIZE_FACTOR, GPUSize
from orchestrator.zerogpu.quota import Visitor


@dataclass(frozen=True)
class ZeroSpace:
    """A ZeroGPU Space as the scheduler sees it."""

    space_id: str
    team: str | None = None
    concurrency_limit: int = 2


@dataclass(frozen=True)
class CallRequest:
    """One ``/schedule`` call, validated."""

    space: ZeroSpace
    task_id: int
    visitor: Visitor
    duration_s: int
    size: GPUSize = "large"
    cgroup_path: str = ""

    @property
    def quota_s(self) -> int:
        """Quota seconds the call reserves: its duration, double for a whole GPU."""
        return self.duration_s * SIZE_FACTOR[self.size]


@dataclass
class Lease:
    token: str
    call: CallRequest
    device: ZeroDevice
    granted_at: float
    grace_s: float
    idle: bool
    pid: int | None = None
    warned: bool = False

    @property
    def deadline(self) -> float:
        """When the call has used its requested duration (warned once past it)."""
        return self.granted_at + self.call.duration_s

    @property
    def kill_at(self) -> float:
        """When its worker is ended: no lease outlives this."""
        return self.deadline + self.grace_s


@dataclass(frozen=True)
class Resident:
    """An idle worker process left on a device by a call that ended well."""

    space_id: str
    task_id: int
    pid: int


@dataclass(frozen=True)
class Placement:
    device: ZeroDevice
    idle: bool
    evicted: Resident | None
    """A resident of another Space or function, to be ended before the new call's worker starts."""


class DeviceBoard:
    def __init__(self, devices: Sequence[ZeroDevice]) -> None:
        self._devices = {device.index: device for device in devices}
        self._leases: dict[int, Lease] = {}
        self._residents: dict[int, Resident] = {}
        self._freed_at: dict[int, float] = {}

    def devices(self) -> list[ZeroDevice]:
        return list(self._devices.values())

    def update(self, devices: Sequence[ZeroDevice]) -> list[Resident]:
        """The pool changed: new devices are lent from now on; a removed one finishes its running call
        but takes no other. Returns the idle workers left on removed devices (to be ended)."""
        self._devices = {device.index: device for device in devices}
        gone = [index for index in self._residents if index not in self._devices]
        return [self._residents.pop(index) for index in gone]

    def fits_any(self, size: GPUSize) -> bool:
        return any(device.fits(size) for device in self._devices.values())

    def any_free(self) -> bool:
        return any(index not in self._leases for index in self._devices)

    def leases(self) -> Iterator[Lease]:
        return iter(list(self._leases.values()))

    def residents(self) -> dict[int, Resident]:
        return dict(self._residents)

    def place(self, space_id: str, task_id: int, size: GPUSize) -> Placement | None:
        """The free device for a call: its own idle worker's first, then one of the exact size, then one
        with no worker on it, then the one idle the longest."""
        best: tuple[tuple[int, int, int, float, int], ZeroDevice] | None = None
        for device in self._devices.values():
            if device.index in self._leases or not device.fits(size):
                continue
            resident = self._residents.get(device.index)
            own = resident is not None and (resident.space_id, resident.task_id) == (space_id, task_id)
            rank = (
                0 if own else 1,
                0 if device.size == size else 1,
                0 if resident is None or own else 1,
                self._freed_at.get(device.index, 0.0),
                device.index,
            )
            if best is None or rank < best[0]:
                best = (rank, device)
        if best is None:
            return None
        device = best[1]
        resident = self._residents.get(device.index)
        own = resident is not None and (resident.space_id, resident.task_id) == (space_id, task_id)
        return Placement(device=device, idle=own, evicted=None if own else resident)

    def occupy(self, lease: Lease) -> None:
        index = lease.device.index
        assert index not in self._leases, f"device {index} is already leased"
        resident = self._residents.pop(index, None)
        if lease.idle and resident is not None:
            lease.pid = resident.pid
        self._leases[index] = lease

    def vacate(self, lease: Lease, now: float, *, keep_worker: bool) -> None:
        index = lease.device.index
        if self._leases.get(index) is lease:
            del self._leases[index]
        self._freed_at[index] = now
        if keep_worker and lease.pid is not None and index in self._devices:
            self._residents[index] = Resident(lease.call.space.space_id, lease.call.task_id, lease.pid)

    def forget_worker(self, space_id: str, pid: int) -> None:
        for index, resident in list(self._residents.items()):
            if (resident.space_id, resident.pid) == (space_id, pid):
                del self._residents[index]

    def forget_space(self, space_id: str) -> list[Resident]:
        gone = [resident for resident in self._residents.values() if resident.space_id == space_id]
        self._residents = {i: r for i, r in self._residents.items() if r.space_id != space_id}
        return gone
