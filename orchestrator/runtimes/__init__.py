"""Where Spaces run: the ``Runtime`` interface and its backends, chosen by name.

``process`` runs each Space as local processes in its virtual environment; ``container`` runs images
through the Docker Engine API (Docker or Podman); ``auto`` picks the container runtime when an engine
answers, else processes.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.errors import InvalidInputError
from orchestrator.runtimes.base import Artifact, Instance, InstanceState, InstanceStatus, LaunchSpec, Runtime
from orchestrator.runtimes.container import ContainerRuntime
from orchestrator.runtimes.process import ProcessRuntime

RUNTIME_NAMES = ("auto", "process", "container")

__all__ = [
    "RUNTIME_NAMES",
    "Artifact",
    "ContainerRuntime",
    "Instance",
    "InstanceState",
    "InstanceStatus",
    "LaunchSpec",
    "ProcessRuntime",
    "Runtime",
    "make_runtime",
]


def make_runtime(name: str, *, logs_dir: Path, container_host: str | None = None) -> Runtime:
    """The runtime called ``name``; ``auto`` is ``container`` when an engine answers, else ``process``."""
    base_url = container_host or None
    if name == "auto":
        name = "container" if ContainerRuntime.available(base_url) else "process"
    if name == "container":
        return ContainerRuntime(logs_dir=logs_dir, base_url=base_url)
    if name == "process":
        return ProcessRuntime(logs_dir=logs_dir)
    raise InvalidInputError(f"Unknown runtime {name!r}; choose one of: {', '.join(RUNTIME_NAMES)}.")
