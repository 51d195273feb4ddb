"""The lifecycle stages of a Space, named and meant as on the Hugging Face Hub."""

from __future__ import annotations

import enum


class Stage(enum.StrEnum):
    NO_APP_FILE = "NO_APP_FILE"
    CONFIG_ERROR = "CONFIG_ERROR"
    BUILDING = "BUILDING"
    BUILD_ERROR = "BUILD_ERROR"
    APP_STARTING = "APP_STARTING"
    RUNNING = "RUNNING"
    RUNNING_BUILDING = "RUNNING_BUILDING"
    """The previous version serves while a new one builds."""
    RUNNING_APP_STARTING = "RUNNING_APP_STARTING"
    """The previous version serves while a new one starts."""
    RUNTIME_ERROR = "RUNTIME_ERROR"
    STOPPED = "STOPPED"
    PAUSED = "PAUSED"
    SLEEPING = "SLEEPING"
    DELETING = "DELETING"


TRANSITIONAL = frozenset(
    {Stage.BUILDING, Stage.RUNNING_BUILDING, Stage.APP_STARTING, Stage.RUNNING_APP_STARTING}
)
"""Stages a client waits through (``huggingface_hub``'s ``wait_for_space`` uses the same set)."""
