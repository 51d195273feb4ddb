"""``spaces logs``: stream a Space's build or run logs (server-sent events) to stdout as they arrive.

Each event is a line ``data: {"data": "text\\n", "timestamp": "..."}``; empty ``data:`` lines are
keep-alives. The stream has no read timeout: it ends when the server closes it (at once with
``--no-follow``) or on Ctrl-C.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from orchestrator.cli.commands.spaces import SpaceIdArgument, space_path
from orchestrator.cli.context import control_plane


def event_text(line: str) -> str | None:
    """The log text carried by one SSE line, or ``None`` for keep-alives and other fields."""
    if not line.startswith("data:"):
        return None
    payload = line[len("data:") :].strip()
    if not payload:
        return None
    try:
        event = json.loads(payload)
    except ValueError:
        return payload + "\n"
    if isinstance(event, dict) and isinstance(event.get("data"), str):
        return str(event["data"])
    return payload + "\n"


def logs(
    ctx: typer.Context,
    space_id: SpaceIdArgument,
    build: Annotated[bool, typer.Option("--build", help="The build's logs instead of the app's.")] = False,
    follow: Annotated[bool, typer.Option("--follow/--no-follow", help="Keep streaming new lines.")] = True,
) -> None:
    """Print a Space's logs as they arrive (the app's, or the build's with --build)."""
    path = f"{space_path(space_id)}/logs/{'build' if build else 'run'}"
    params = {"follow": "true" if follow else "false"}
    with control_plane(ctx).stream_lines(path, params=params) as lines:
        for line in lines:
            text = event_text(line)
            if text is not None:
                sys.stdout.write(text)
                sys.stdout.flush()


def register(app: typer.Typer) -> None:
    app.command()(logs)
