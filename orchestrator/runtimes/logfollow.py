"""Copy containers' output (stdout and stderr) into their log files, one thread per container.

Owns the followers of the container runtime: each streams ``logs(follow=True)`` from the engine and
appends to the instance's log file until the container ends. A container is followed at most once per
control-plane run; after a restart, following resumes from the log file's last change, so a line or
two may repeat but output written while the control plane was down is kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docker.errors import DockerException

from orchestrator.errors import SpacesError


class LogFollowers:
    """The threads following container output in this process."""

    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client
        self._followed: set[str] = set()
        self._lock = threading.Lock()

    def follow(self, container_id: str, log_path: Path, *, resume: bool = False) -> None:
        """Start following ``container_id`` unless this process already does (or did)."""
        with self._lock:
            if container_id in self._followed:
                return
            self._followed.add(container_id)
        since = int(log_path.stat().st_mtime) if resume and log_path.exists() else None
        thread = threading.Thread(
            target=self._copy,
            args=(container_id, log_path, since),
            name=f"logs-{container_id[:12]}",
            daemon=True,
        )
        thread.start()

    def _copy(self, container_id: str, log_path: Path, since: int | None) -> None:
        try:
            container = self._client().containers.get(container_id)
            stream = container.logs(stream=True, follow=True, stdout=True, stderr=True, since=since)
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with log_path.open("ab") as log:
                for chunk in stream:
                    log.write(chunk)
                    log.flush()
        except (DockerException, OSError, SpacesError):
            return  # the container went away; what was copied stays in the log
