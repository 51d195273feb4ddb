"""The environment variables a Space sees, as on the Hub (``SPACE_ID``, ``SPACE_HOST``, ``SYSTEM`` ...)."""

from __future__ import annotations

import os


def make_space_env(
    *,
    owner: str,
    name: str,
    title: str | None,
    host: str,
    creator_id: str,
    hardware: str,
    plan_env: dict[str, str],
) -> dict[str, str]:
    """Pure: the Hub's variables, then the SDK's own (the build plan's), then nothing else."""
    return {
        **plan_env,
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
