"""The environment variables a Space sees, as on the Hub (``SPACE_ID``, ``SPACE_HOST``, ``SYSTEM`` ...)."""

from __future__ import annotations

import os
from typing import Any


def make_space_env(
    *,
    owner: str,
    name: str,
    title: str | None,
    host: str,
    creator_id: str,
    hardware: str,
    plan_env: dict[str, str],
    variables: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
) -> dict[str, str]:
    """Pure: the SDK's variables (the build plan's), the Space's variables and secrets, then the Hub's
    own ``SPACE_*`` variables, which a user's variable cannot override."""
    return {
        **plan_env,
        **(variables or {}),
        **(secrets or {}),
        "SPACE_ID": f"{owner}/{name}",
        "SPACE_AUTHOR_NAME": owner,
        "SPACE_REPO_NAME": name,
        "SPACE_TITLE": title or name,
        "SPACE_HOST": host,
        "SPACE_CREATOR_USER_ID": creator_id,
        "SYSTEM": "spaces",
        "CPU_CORES": str(os.cpu_count() or 1),
        "MEMORY": "16Gi",
        "ACCELERATOR": "none" if hardware.startswith("cpu") else hardware,
    }


def setting_values(settings: dict[str, Any], kind: str) -> dict[str, str]:
    """``{KEY: value}`` of a Space's ``variables`` or ``secrets`` as stored in ``Space.settings``:
    ``{"variables": {"KEY": {"value": ..., "description": ..., "updatedAt": ...}}}``."""
    entries = settings.get(kind) or {}
    return {key: str(entry.get("value", "")) for key, entry in entries.items()}
