"""Everything the CLI prints: the two consoles, stages in colour, the status view and the list table.

Results meant for scripts (a token, JSON, log text) go to stdout as plain text; everything for
people (confirmations, errors, spinners) goes to stderr or through rich. Missing fields in an answer
are shown as ``-`` rather than failing: the server may grow or omit fields.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

IN_PROGRESS_STAGES = frozenset({"BUILDING", "RUNNING_BUILDING", "APP_STARTING", "RUNNING_APP_STARTING"})
MISSING = "-"


def stdout() -> Console:
    """A console on stdout (made per call so that it follows the current terminal and ``COLUMNS``)."""
    return Console(highlight=False, soft_wrap=True)


def stderr() -> Console:
    """A console on stderr, for people: confirmations, hints, errors and spinners."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_error(message: str, hint: str | None = None) -> None:
    """``Error: message`` in red on stderr, then an optional hint."""
    console = stderr()
    console.print(Text(f"Error: {message}", style="red"))
    if hint:
        console.print(Text(hint))


def info(message: str) -> None:
    """A line for people on stderr (kept off stdout so scripts can capture results)."""
    stderr().print(Text(message))


def stage_style(stage: str) -> str:
    """The colour of a stage: running green, failures red, work in progress yellow."""
    if stage == "RUNNING":
        return "green"
    if stage.endswith("ERROR"):
        return "red"
    if stage in IN_PROGRESS_STAGES:
        return "yellow"
    return "dim"


def stage_text(stage: str) -> Text:
    return Text(stage, style=stage_style(stage))


def field(data: dict[str, Any], *path: str) -> Any:
    """``data[path[0]][path[1]]...``, or ``None`` when any step is missing or not an object."""
    value: Any = data
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def text_of(value: Any) -> str:
    return MISSING if value is None or value == "" else str(value)


def short_sha(value: Any) -> str:
    return value[:12] if isinstance(value, str) and value else MISSING


def space_stage(info: dict[str, Any]) -> str:
    return text_of(field(info, "runtime", "stage"))


def render_status(info: dict[str, Any]) -> None:
    """The human view of ``GET /api/spaces/{id}``."""
    console = stdout()
    runtime = field(info, "runtime") or {}
    stage = text_of(field(runtime, "stage"))

    title = Text(text_of(info.get("id")), style="bold")
    title.append("  ")
    title.append_text(stage_text(stage))
    console.print(title)

    rows: list[tuple[str, str]] = [
        ("sdk", text_of(info.get("sdk"))),
        ("private", "yes" if info.get("private") else "no"),
        ("hardware", _hardware(runtime)),
        ("commit", short_sha(info.get("sha"))),
    ]
    building = field(runtime, "buildingSha")
    if building:
        rows.append(("building", short_sha(building)))
    rows.append(("serving", short_sha(field(runtime, "servingSha"))))
    rows.append(("app", text_of(info.get("appUrl") or info.get("host"))))
    rows.append(("git", text_of(info.get("gitUrl"))))
    for label, value in rows:
        console.print(Text(f"  {label + ':':<10}{value}"))

    card = info.get("cardData")
    if isinstance(card, dict) and card:
        console.print(Text("  configuration (README.md):"))
        for key, value in card.items():
            shown = (
                json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else text_of(value)
            )
            console.print(Text(f"    {key}: {shown}"))

    error = field(runtime, "errorMessage")
    if error:
        console.print(Text("  error:", style="red"))
        for line in str(error).rstrip().splitlines():
            console.print(Text(f"    {line}", style="red"))
    warnings = field(runtime, "warnings")
    if isinstance(warnings, list) and warnings:
        console.print(Text("  warnings:", style="yellow"))
        for warning in warnings:
            console.print(Text(f"    - {warning}", style="yellow"))


def _hardware(runtime: dict[str, Any]) -> str:
    current = field(runtime, "hardware", "current")
    requested = field(runtime, "hardware", "requested")
    if requested and requested != current:
        return f"{text_of(current)} (requested {requested})"
    return text_of(current or requested)


def render_space_list(spaces: list[dict[str, Any]]) -> None:
    """The table of ``spaces list``: id, sdk, stage and app URL."""
    console = stdout()
    if not spaces:
        console.print(Text("No Spaces yet. Create one with: spaces create OWNER/NAME"))
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("ID", "SDK", "STAGE"):
        table.add_column(column, no_wrap=True)
    table.add_column("APP", overflow="fold")
    for space in spaces:
        stage = space_stage(space)
        table.add_row(
            text_of(space.get("id")),
            text_of(space.get("sdk")),
            stage_text(stage),
            text_of(space.get("appUrl") or space.get("host")),
        )
    console.print(table)
