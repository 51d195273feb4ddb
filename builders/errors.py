"""Errors the builders raise about a Space repo's configuration.

Owns the small exception hierarchy that carries what the Space author must fix: the message, the
file and the line. The orchestrator maps ``ConfigError`` to the ``CONFIG_ERROR`` stage and
``NoAppFileError`` to ``NO_APP_FILE``; this module knows nothing about stages.
"""

from __future__ import annotations

README = "README.md"


class ConfigError(Exception):
    """Something in the repo's configuration files that the author must fix before a build."""

    def __init__(self, message: str, *, file: str = README, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file} line {self.line}"
        return f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, file={self.file!r}, line={self.line!r})"


class NoAppFileError(ConfigError):
    """The entry point named by ``app_file`` (or the default) is not in the repo."""
