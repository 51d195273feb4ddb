"""The devices ZeroGPU lends out, and the small interface it reads them through.

An admin dedicates some GPUs (whole cards or MIG slices) to ZeroGPU; the scheduling package's inventory
knows which. This module owns only the shape ZeroGPU needs of each device and a ``DevicePool`` protocol
to read them from, with one implementation from a declared list (a file an admin or a test writes).
It never touches a GPU.

Pool file (YAML or JSON)::

    devices:
      - index: 0                 # the client keys its worker processes by it (``nvidiaIndex``)
        uuid: MIG-4f1c...        # what the worker puts in CUDA_VISIBLE_DEVICES (``nvidiaUUID``)
        size: large              # large: half a GPU / a MIG slice; xlarge: a whole GPU
        name: NVIDIA H200 MIG 3g.71gb
        memory: 74625056768      # bytes
        capability: [9, 0]       # optional: CUDA compute capability
        sm_count: 60             # optional: streaming multiprocessors
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.errors import InvalidInputError
from orchestrator.zerogpu.protocol import GPUSize
from orchestrator.zerogpu.settings import file_error


@dataclass(frozen=True)
class ZeroDevice:
    """One device ZeroGPU may lend: a whole GPU or a MIG slice."""

    index: int
    uuid: str
    size: GPUSize
    name: str = "NVIDIA GPU"
    memory_bytes: int = 0
    capability: tuple[int, int] | None = None
    sm_count: int | None = None

    def fits(self, size: GPUSize) -> bool:
        """An xlarge call needs a whole GPU; a large one runs on a slice or, failing that, a whole GPU."""
        return size == "large" or self.size == "xlarge"


class DevicePool(Protocol):
    """Where ZeroGPU reads the devices dedicated to it (the scheduling package provides the real one)."""

    def devices(self) -> Sequence[ZeroDevice]: ...


class StaticDevicePool:
    """A pool from a declared list: tests, the GPU check script, and admins who declare their GPUs."""

    def __init__(self, devices: Sequence[ZeroDevice]) -> None:
        check_devices(devices)
        self._devices = tuple(devices)

    def devices(self) -> Sequence[ZeroDevice]:
        return self._devices


def check_devices(devices: Sequence[ZeroDevice]) -> None:
    """Indexes and UUIDs must be unique: the client keys workers by index, CUDA finds a device by UUID."""
    for attribute in ("index", "uuid"):
        seen: set[object] = set()
        for device in devices:
            value = getattr(device, attribute)
            if value in seen:
                raise InvalidInputError(f"ZeroGPU pool: two devices have the same {attribute} {value!r}")
            seen.add(value)


class _DeviceEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0)
    uuid: str = Field(min_length=1)
    size: GPUSize = "large"
    name: str = "NVIDIA GPU"
    memory: int = Field(default=0, ge=0)
    capability: tuple[int, int] | None = None
    sm_count: int | None = Field(default=None, ge=1)


class _PoolFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    devices: list[_DeviceEntry]


def load_pool(path: Path) -> StaticDevicePool:
    """Read a pool file; errors name the file and the entry at fault."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInputError(f"{path}: cannot read the ZeroGPU pool: {exc}") from exc
    try:
        parsed = _PoolFile.model_validate(raw)
    except ValidationError as exc:
        raise file_error(path, exc) from exc
    devices = [
        ZeroDevice(
            index=entry.index,
            uuid=entry.uuid,
            size=entry.size,
            name=entry.name,
            memory_bytes=entry.memory,
            capability=entry.capability,
            sm_count=entry.sm_count,
        )
        for entry in parsed.devices
    ]
    try:
        return StaticDevicePool(devices)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{path}: {exc.message}") from exc
