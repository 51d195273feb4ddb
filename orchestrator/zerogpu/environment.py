"""The environment a ZeroGPU Space's app is started with. Pure.

The `spaces` package turns ZeroGPU on when ``SPACES_ZERO_GPU`` is true and then requires
``SPACES_ZERO_DEVICE_API_URL``; Gradio recognises a Space by ``SYSTEM=spaces`` and ``SPACE_ID``, and a
ZeroGPU one by ``SPACES_ZERO_GPU == "true"`` (it then defaults its queue to one waiting event and
caches examples lazily). The main process never sees a GPU: the client emulates one, described by the
``ZEROGPU_CUDA_*`` variables, until a call's worker gets a real device.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.zerogpu.pool import ZeroDevice


def app_environment(space_id: str, device_api_url: str, devices: Sequence[ZeroDevice]) -> dict[str, str]:
    """Variables for the app of ``space_id``; the emulated device is the pool's typical ``large`` one."""
    env = {
        "SYSTEM": "spaces",
        "SPACE_ID": space_id,
        "SPACES_ZERO_GPU": "true",
        "SPACES_ZERO_DEVICE_API_URL": device_api_url,
        # The main process must not see any GPU; only a call's worker gets one, by UUID.
        "CUDA_VISIBLE_DEVICES": "",
    }
    large = [device for device in devices if device.size == "large"] or list(devices)
    if large:
        model = large[0]
        env["ZEROGPU_CUDA_DEVICE_NAME"] = model.name
        if model.memory_bytes:
            env["ZEROGPU_CUDA_TOTAL_MEMORY"] = str(model.memory_bytes)
        if model.capability is not None:
            env["ZEROGPU_CUDA_CAPABILITY_MAJOR"] = str(model.capability[0])
            env["ZEROGPU_CUDA_CAPABILITY_MINOR"] = str(model.capability[1])
        if model.sm_count is not None:
            env["ZEROGPU_CUDA_MULTI_PROCESSOR_COUNT"] = str(model.sm_count)
    return env
