"""This machine's GPUs through NVML (``nvidia-ml-py``): whole cards and the MIG instances that exist.

Read-only by design: it never enables MIG, creates instances or changes any setting, so it is safe on a
shared machine. Without the library or the driver it answers an empty inventory whose note says why.
Time-slicing is a device-plugin setting NVML cannot see; declare shared cards in an inventory file.
"""

from __future__ import annotations

import math
import re
import socket
from types import ModuleType
from typing import Any

from orchestrator.scheduling.inventory import Gpu, Inventory, MigDevice, Node

_MIG_NAME = re.compile(r"\bMIG\s+(\S+)")
MIG_ENABLED = 1
"""``NVML_DEVICE_MIG_ENABLE``: the current mode of a card in MIG mode."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_nvml(nvml: ModuleType | Any | None = None, node_name: str | None = None) -> Inventory:
    """The GPUs NVML reports, on one node named ``node_name`` (default: this host's name).

    ``nvml`` is the ``pynvml`` module (imported here when not given; tests pass a stand-in because this
    machine has no GPU)."""
    if nvml is None:
        try:
            import pynvml
        except ImportError:
            return Inventory((), "nvml", "nvidia-ml-py is not installed (pip install nvidia-ml-py)")
        nvml = pynvml
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        return Inventory((), "nvml", f"NVML did not start: {exc} (is the NVIDIA driver installed?)")
    problems: list[str] = []
    gpus: list[Gpu] = []
    migs: list[MigDevice] = []
    try:
        for index in range(nvml.nvmlDeviceGetCount()):
            try:
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                gpu = Gpu(
                    product=_text(nvml.nvmlDeviceGetName(handle)),
                    uuid=_text(nvml.nvmlDeviceGetUUID(handle)),
                    memory=int(nvml.nvmlDeviceGetMemoryInfo(handle).total),
                    index=index,
                    mig_enabled=_mig_enabled(nvml, handle),
                )
            except nvml.NVMLError as exc:
                problems.append(f"GPU {index}: {exc}")
                continue
            gpus.append(gpu)
            if gpu.mig_enabled:
                migs.extend(_mig_devices(nvml, handle, gpu, problems))
    finally:
        nvml.nvmlShutdown()
    if not gpus and not problems:
        problems.append("NVML sees no GPU")
    node = Node(node_name or socket.gethostname(), tuple(gpus), tuple(migs))
    return Inventory((node,), "nvml", "; ".join(problems) or None)


def _mig_enabled(nvml: Any, handle: Any) -> bool:
    try:
        current, _pending = nvml.nvmlDeviceGetMigMode(handle)
    except nvml.NVMLError:
        return False  # not supported on this card (or driver): no MIG
    return int(current) == MIG_ENABLED


def _mig_devices(nvml: Any, handle: Any, gpu: Gpu, problems: list[str]) -> list[MigDevice]:
    found: list[MigDevice] = []
    for slot in range(int(nvml.nvmlDeviceGetMaxMigDeviceCount(handle))):
        try:
            mig = nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, slot)
        except nvml.NVMLError:
            continue  # an empty slot: no instance was created there
        try:
            uuid = _text(nvml.nvmlDeviceGetUUID(mig))
            memory = int(nvml.nvmlDeviceGetMemoryInfo(mig).total)
            found.append(MigDevice(_profile(nvml, mig), uuid, memory, gpu.uuid))
        except nvml.NVMLError as exc:
            problems.append(f"MIG slot {slot} of {gpu.uuid}: {exc}")
    return found


def _profile(nvml: Any, mig: Any) -> str:
    """``1g.10gb``: from the instance's name (``NVIDIA A100-SXM4-80GB MIG 1g.10gb``), else its attributes."""
    match = _MIG_NAME.search(_text(nvml.nvmlDeviceGetName(mig)))
    if match:
        return match.group(1)
    attributes = nvml.nvmlDeviceGetAttributes(mig)
    gigabytes = math.ceil(int(attributes.memorySizeMB) / 1024)
    return f"{int(attributes.gpuInstanceSliceCount)}g.{gigabytes}gb"
