"""A Space's settings as the Hub's API changes them: secrets, variables, hardware, sleep time,
storage, pause, visibility.

Owns the shapes kept in ``Space.settings`` (``secrets``/``variables`` as ``{KEY: {value, description,
updatedAt}}``, ``sleep_time`` in seconds with ``-1`` for never, ``storage`` tier, ``paused``) and the
rule that a change the app sees (a secret, a variable, hardware) restarts it, as on the Hub. Secret
values are only ever written here and read by the reconciler's environment; no view returns them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.control import spaces
from orchestrator.errors import InvalidInputError, NotFoundError
from orchestrator.hardware import validate_hardware
from orchestrator.state.models import Space, utcnow

KINDS = ("secrets", "variables")
STORAGE_TIERS = ("small", "medium", "large")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _restart(session: Session, space: Space) -> None:
    """Apply a change the app must see: restart it, unless its owner paused it."""
    if space.settings.get("paused"):
        space.updated_at = utcnow()
        session.commit()
    else:
        spaces.request_restart(session, space, factory=False)


def set_entry(
    session: Session, space: Space, kind: str, key: str, value: str, description: str | None
) -> None:
    """Add or update a secret or a variable; the Space restarts with it in its environment."""
    if not _KEY.match(key):
        raise InvalidInputError(
            f"Invalid key {key!r}: use letters, digits and '_', not starting with a digit."
        )
    if key.startswith("SPACE_"):
        raise InvalidInputError(f"{key!r} is reserved: keys starting with SPACE_ are set by the platform.")
    entries = dict(space.settings.get(kind) or {})
    entry: dict[str, Any] = {"value": value, "updatedAt": _now()}
    if description is not None:
        entry["description"] = description
    elif key in entries and "description" in entries[key]:
        entry["description"] = entries[key]["description"]
    entries[key] = entry
    space.settings = {**space.settings, kind: entries}
    _restart(session, space)


def delete_entry(session: Session, space: Space, kind: str, key: str) -> None:
    """Remove a secret or a variable (a missing key is not an error, as on the Hub)."""
    entries = dict(space.settings.get(kind) or {})
    if entries.pop(key, None) is None:
        return
    space.settings = {**space.settings, kind: entries}
    _restart(session, space)


def variables_view(space: Space) -> dict[str, dict[str, Any]]:
    return {key: dict(entry) for key, entry in (space.settings.get("variables") or {}).items()}


def secrets_view(space: Space) -> dict[str, dict[str, Any]]:
    """Secrets without their values: only descriptions and dates are ever read back."""
    return {
        key: {k: v for k, v in entry.items() if k != "value"}
        for key, entry in (space.settings.get("secrets") or {}).items()
    }


def initial_settings(
    *,
    secrets: list[dict[str, Any]] | None,
    variables: list[dict[str, Any]] | None,
    sleep_time: int | None,
    storage: str | None,
) -> dict[str, Any]:
    """The settings of a new Space from the create/duplicate request's lists of ``{key, value}``."""
    settings: dict[str, Any] = {}
    for kind, items in (("secrets", secrets), ("variables", variables)):
        entries: dict[str, Any] = {}
        for item in items or []:
            key = str(item.get("key", ""))
            if not _KEY.match(key):
                raise InvalidInputError(f"Invalid {kind[:-1]} key {key!r}.")
            entry: dict[str, Any] = {"value": str(item.get("value", "")), "updatedAt": _now()}
            if item.get("description") is not None:
                entry["description"] = str(item["description"])
            entries[key] = entry
        if entries:
            settings[kind] = entries
    if sleep_time is not None:
        settings["sleep_time"] = _sleep_seconds(sleep_time)
    if storage is not None:
        settings["storage"] = _storage_tier(storage)
    return settings


def _sleep_seconds(seconds: int) -> int:
    if seconds != -1 and seconds <= 0:
        raise InvalidInputError("Sleep time must be a positive number of seconds, or -1 to never sleep.")
    return seconds


def _storage_tier(tier: str) -> str:
    if tier not in STORAGE_TIERS:
        raise InvalidInputError(f"Unknown storage tier {tier!r}: use one of {', '.join(STORAGE_TIERS)}.")
    return tier


def set_sleep_time(session: Session, space: Space, seconds: int) -> None:
    space.settings = {**space.settings, "sleep_time": _sleep_seconds(seconds)}
    space.updated_at = utcnow()
    session.commit()


def request_hardware(session: Session, space: Space, flavor: str, sleep: int | None) -> None:
    """Move the Space to ``flavor`` (only flavors this server offers), restarting it if it changed."""
    flavor = validate_hardware(flavor)
    if sleep is not None:
        space.settings = {**space.settings, "sleep_time": _sleep_seconds(sleep)}
    if flavor != space.hardware:
        space.hardware = flavor
        _restart(session, space)
    else:
        session.commit()


def set_storage(session: Session, space: Space, tier: str) -> None:
    """Record the persistent storage tier; like the Hub, it can only grow (delete it first to shrink)."""
    tier = _storage_tier(tier)
    current = space.settings.get("storage")
    if current is not None and STORAGE_TIERS.index(tier) < STORAGE_TIERS.index(current):
        raise InvalidInputError(
            f"Storage can only be upgraded: this Space has {current!r}; delete it first to choose {tier!r}."
        )
    space.settings = {**space.settings, "storage": tier}
    session.commit()


def delete_storage(session: Session, space: Space) -> None:
    if space.settings.get("storage") is None:
        raise InvalidInputError(f"{space.space_id} has no persistent storage to delete.")
    space.settings = {k: v for k, v in space.settings.items() if k != "storage"}
    session.commit()


def pause(session: Session, space: Space) -> None:
    """Stop the Space until its owner restarts it (the reconciler stops it and shows ``PAUSED``)."""
    if space.sdk == "static":
        raise InvalidInputError("A static Space cannot be paused: it is always served.")
    space.settings = {**space.settings, "paused": True}
    space.updated_at = utcnow()
    session.commit()


def set_private(session: Session, space: Space, private: bool) -> None:
    space.private = private
    space.updated_at = utcnow()
    session.commit()


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFoundError(f"Unknown setting {kind!r}.")
    return kind
