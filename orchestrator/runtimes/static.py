"""Static Spaces need no runtime: the control plane's proxy serves their folder itself.

Owns the instance record of a static Space (``runtime`` ``static``; the handle is the entry page's
path, so the folder served is its folder; no host or port) and its status, which is running for as
long as the folder exists. The reconciler uses these instead of a ``Runtime`` for static artifacts.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from orchestrator.runtimes.base import Instance, InstanceState, InstanceStatus, LaunchSpec

STATIC_RUNTIME = "static"
"""``Instance.runtime`` of a static Space's instance rows; its artifacts have kind ``static``."""


def is_static(spec: LaunchSpec) -> bool:
    return spec.artifact.kind == STATIC_RUNTIME


def static_instance(spec: LaunchSpec) -> Instance:
    """The instance of a static artifact: nothing starts, the proxy serves the page's folder."""
    return Instance(
        instance_id=uuid.uuid4().hex[:12],
        space_id=spec.space_id,
        handle=spec.artifact.reference,
        host="",
        port=0,
        log_path="",
        deps_key=spec.artifact.deps_key,
    )


def static_status(instance: Instance) -> InstanceStatus:
    """Running while the entry page is on disk; a static Space has nothing that can crash."""
    if Path(instance.handle).is_file():
        return InstanceStatus(InstanceState.RUNNING)
    return InstanceStatus(InstanceState.MISSING)


def static_site(handle: str) -> tuple[str, str]:
    """``(folder, index)`` of a static instance's handle, for the proxy's route."""
    page = Path(handle)
    return str(page.parent), page.name
