"""The interface of a build engine: from a build plan and the commit's files to a runnable artifact.

One engine per kind of runtime: a virtual environment for local processes (``venv.py``), an image for
container engines (``image.py``). Both reuse the dependency layer when only app files changed: the plan's
``deps_key`` names it.
"""

from __future__ import annotations

import abc
from pathlib import Path

from builders.base import BuildPlan
from orchestrator.logs import LogWriter
from orchestrator.runtimes.base import Artifact


class BuildEngine(abc.ABC):
    """Turns a plan into an ``Artifact``; raises ``BuildError`` with the log holding the details."""

    @abc.abstractmethod
    async def build(
        self,
        *,
        plan: BuildPlan,
        app_dir: Path,
        image_repository: str,
        sha: str,
        log: LogWriter,
        no_cache: bool = False,
        build_args: dict[str, str] | None = None,
        secrets: dict[str, str] | None = None,
    ) -> Artifact:
        """Build ``app_dir`` (the commit's files) according to ``plan``.

        ``build_args`` (the Space's variables) and ``secrets`` matter to docker Spaces only. Raises
        ``ConfigError`` when this engine cannot build the plan's kind at all.
        """

    async def pythons(self) -> tuple[str, ...] | None:
        """The Python versions this engine can build with now; ``None``: those the build options name."""
        return None

    async def discard(self, *, image_repository: str) -> None:  # noqa: B027 - optional
        """Forget what was built for a deleted Space (shared dependency environments stay)."""

    async def close(self) -> None:  # noqa: B027 - optional
        """Release clients."""
