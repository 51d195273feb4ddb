"""Every name derived from a Space id, in one place.

A Space id is ``owner/name``. Owners and names are validated on creation (``validate_*``) so that
the derived names below are always valid host labels, container names and file names.
The subdomain follows the Hub's rule: lower case, ``_`` and ``.`` become ``-``.
"""

from __future__ import annotations

import re

from orchestrator.errors import InvalidInputError

_OWNER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


def validate_owner(owner: str) -> str:
    """Return ``owner`` if it is a valid user name, else raise ``InvalidInputError``."""
    if not _OWNER_RE.match(owner) or owner.endswith("-") or "--" in owner:
        raise InvalidInputError(
            f"Invalid user name {owner!r}: use letters, digits and single '-' (at most 39 characters),"
            " starting and ending with a letter or digit."
        )
    return owner


def validate_space_name(name: str) -> str:
    """Return ``name`` if it is a valid Space name, else raise ``InvalidInputError``."""
    if not _NAME_RE.match(name) or name.endswith((".git", ".", "-")) or ".." in name or "--" in name:
        raise InvalidInputError(
            f"Invalid Space name {name!r}: use letters, digits, '-', '_' and '.' (at most 96 characters),"
            " starting and ending with a letter or digit."
        )
    return name


def split_space_id(space_id: str) -> tuple[str, str]:
    """Split ``owner/name`` into its parts, validating both."""
    owner, sep, name = space_id.partition("/")
    if not sep:
        raise InvalidInputError(f"Invalid Space id {space_id!r}: expected 'owner/name'.")
    return validate_owner(owner), validate_space_name(name)


def subdomain(owner: str, name: str) -> str:
    """The host label of a Space's app: ``alice/My_App.v2`` → ``alice-my-app-v2``."""
    return re.sub(r"[_.]", "-", f"{owner}-{name}".lower())


def container_name(owner: str, name: str, instance_id: str) -> str:
    """Container name of one running instance of a Space."""
    return f"space-{subdomain(owner, name)}-{instance_id}"


def image_repository(owner: str, name: str) -> str:
    """Local image repository holding a Space's built images (tagged by commit)."""
    return f"localhost/spaces/{subdomain(owner, name)}"
