"""Every error the orchestrator raises on purpose, each carrying what the user must know.

    SpacesError                 base; ``message`` is shown to users as is
    ├── NotFoundError           a user, Space or token that does not exist (HTTP 404)
    │   ├── RevisionNotFoundError   a branch or commit a Space's repo does not have
    │   └── EntryNotFoundError      a file a Space's repo does not have at that revision
    ├── AuthError               missing or invalid credentials (HTTP 401)
    ├── ForbiddenError          valid credentials without the right (HTTP 403)
    ├── ConflictError           something that already exists (HTTP 409)
    │   └── PreconditionFailedError a commit whose parent is no longer the branch head (HTTP 412)
    ├── InvalidInputError       a request that cannot be honoured as sent (HTTP 400)
    └── RuntimeBackendError     the container engine or process supervisor failed

Space configuration and build failures are not exceptions at this level: they become the Space's
stage (``CONFIG_ERROR``, ``BUILD_ERROR``) with a message, see ``builders.errors``.
The API layer turns these into JSON ``{"error": message}`` with the status code; the CLI prints them.
"""

from __future__ import annotations


class SpacesError(Exception):
    """Base of all orchestrator errors; ``message`` is safe to show to a user."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(SpacesError):
    status_code = 404
    error_code = "RepoNotFound"
    """Sent as ``X-Error-Code``: ``huggingface_hub`` picks its exception class by it."""


class RevisionNotFoundError(NotFoundError):
    error_code = "RevisionNotFound"


class EntryNotFoundError(NotFoundError):
    error_code = "EntryNotFound"


class AuthError(SpacesError):
    status_code = 401


class ForbiddenError(SpacesError):
    status_code = 403


class ConflictError(SpacesError):
    status_code = 409


class PreconditionFailedError(ConflictError):
    status_code = 412


class InvalidInputError(SpacesError):
    status_code = 400


class RuntimeBackendError(SpacesError):
    status_code = 502
