"""``spaces sleep-time``: how long a Space may sit idle before it sleeps (``never`` to keep it awake).

A sleeping Space wakes on the next request to its app. Free hardware sleeps after 48 hours by
default; other hardware never does unless its owner sets a sleep time.
"""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrator.cli import output
from orchestrator.cli.client import as_object
from orchestrator.cli.commands.spaces import SpaceIdArgument, space_path
from orchestrator.cli.context import control_plane
from orchestrator.errors import InvalidInputError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_sleep_time(text: str) -> int:
    """Seconds from ``300``, ``5m``, ``2h``, ``1d`` or ``never`` (``-1``)."""
    value = text.strip().lower()
    if value in ("never", "-1"):
        return -1
    unit = _UNITS.get(value[-1:], 0)
    number = value[:-1] if unit else value
    try:
        seconds = int(float(number) * (unit or 1))
    except ValueError:
        raise InvalidInputError(
            f"Sleep time {text!r} is not a duration: use seconds, 30m, 2h, 1d or 'never'."
        ) from None
    if seconds <= 0:
        raise InvalidInputError("A sleep time must be positive (or 'never').")
    return seconds


def describe_sleep_time(seconds: object) -> str:
    if not isinstance(seconds, int) or seconds < 0:
        return "never sleeps"
    for suffix, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"sleeps after {seconds // size}{suffix} without traffic"
    return f"sleeps after {seconds}s without traffic"


def sleep_time(
    ctx: typer.Context,
    space_id: SpaceIdArgument,
    duration: Annotated[
        str, typer.Argument(metavar="DURATION", help="Seconds, or 30m, 2h, 1d; 'never' keeps it awake.")
    ],
) -> None:
    """Set how long a Space may be idle before it sleeps; the next visit wakes it."""
    seconds = parse_sleep_time(duration)
    runtime = as_object(
        control_plane(ctx).post(f"{space_path(space_id)}/sleeptime", json={"seconds": seconds})
    )
    output.info(f"{space_id} {describe_sleep_time(runtime.get('gcTimeout', seconds))}")


def register(app: typer.Typer) -> None:
    app.command("sleep-time")(sleep_time)
