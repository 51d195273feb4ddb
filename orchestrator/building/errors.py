"""The one error a build engine raises: the build failed, and the log says why."""

from __future__ import annotations


class BuildError(Exception):
    """A build step failed; ``message`` is the short reason, the build log has the details."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
