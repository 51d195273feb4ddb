"""Whether a Space sleeps, after how long, and how its sleep is recorded on the Space row.

Pure functions over ``Space.settings``, shared by the idle controller (which puts Spaces to sleep and
wakes them) and the reconciler (which keeps a Space stopped while it sleeps). A Space asleep carries
``settings["asleep"] = {"state": "frozen" | "stopped", "sha": ..., "generation": ...}``: the commit
and generation it fell asleep on, so that a push or a restart (a new commit or generation) wakes it.
"""

from __future__ import annotations

from typing import Any, Literal

ASLEEP_KEY = "asleep"
SLEEP_TIME_KEY = "sleep_time"
"""Seconds without traffic before the Space sleeps, ``-1`` for never (set through the Hub API)."""
FREE_HARDWARE = frozenset({"cpu-basic"})

SleepState = Literal["frozen", "stopped"]


def sleep_time(settings: dict[str, Any], hardware: str, default: float) -> float | None:
    """Seconds of idleness after which the Space sleeps, or ``None`` for never.

    Hub semantics: free hardware sleeps after ``default`` (48 h), other hardware never, unless the
    Space has its own sleep time (``-1``: never).
    """
    value = settings.get(SLEEP_TIME_KEY)
    if value is None:
        return default if hardware in FREE_HARDWARE and default >= 0 else None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return None if seconds < 0 else seconds


def asleep_state(settings: dict[str, Any], sha: str | None, generation: int) -> SleepState | None:
    """How the Space sleeps, if it sleeps on ``sha`` and ``generation`` (a push or restart wakes it)."""
    record = settings.get(ASLEEP_KEY)
    if not isinstance(record, dict) or record.get("sha") != sha or record.get("generation") != generation:
        return None
    state = record.get("state")
    if state == "frozen":
        return "frozen"
    if state == "stopped":
        return "stopped"
    return None


def with_asleep(
    settings: dict[str, Any], state: SleepState, sha: str | None, generation: int
) -> dict[str, Any]:
    """``settings`` recording that the Space sleeps (a new dict, so SQLAlchemy sees the change)."""
    return {**settings, ASLEEP_KEY: {"state": state, "sha": sha, "generation": generation}}


def awake(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` without a sleep record (the same dict when there is none)."""
    if ASLEEP_KEY not in settings:
        return settings
    return {key: value for key, value in settings.items() if key != ASLEEP_KEY}
