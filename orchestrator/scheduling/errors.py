"""The scheduling package's own errors: a configuration file (flavors, inventory, quotas) that cannot be
used, named by file and line, so an admin can go straight to the mistake.

Decisions (pending, over quota, not offered) are not errors: they are values, see ``decisions``.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.errors import InvalidInputError


class ConfigFileError(InvalidInputError):
    """A flavors, inventory or quota file (or document) with a mistake at ``path``:``line``."""

    def __init__(self, path: str | Path, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")
        self.path = str(path)
        self.line = line
        self.problem = problem
