"""``spaces wait``: poll a Space's runtime until it stops building or starting.

Exit status 0 means the Space is RUNNING; anything else (an error stage, sleeping, paused, the
timeout) prints the stage and the error message and exits 1, so scripts can chain on it.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.text import Text

from orchestrator.cli import output
from orchestrator.cli.client import as_object
from orchestrator.cli.commands.spaces import SpaceIdArgument, space_path
from orchestrator.cli.context import control_plane
from orchestrator.errors import SpacesError

POLL_SECONDS = 0.5


def wait(
    ctx: typer.Context,
    space_id: SpaceIdArgument,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 600,
) -> None:
    """Wait until a Space has finished building and starting; exit 1 unless it is RUNNING."""
    api = control_plane(ctx)
    path = f"{space_path(space_id)}/runtime"
    deadline = time.monotonic() + timeout
    console = output.stderr()
    with console.status(f"{space_id}: waiting") as spinner:
        while True:
            runtime = as_object(api.get(path))
            stage = output.text_of(runtime.get("stage"))
            if stage not in output.IN_PROGRESS_STAGES:
                break
            if time.monotonic() >= deadline:
                raise SpacesError(f"{space_id} is still {stage} after {timeout:g} s")
            spinner.update(Text.assemble(f"{space_id}: ", output.stage_text(stage)))
            time.sleep(POLL_SECONDS)

    console.print(Text.assemble(f"{space_id}: ", output.stage_text(stage)))
    if stage == "RUNNING":
        return
    error = runtime.get("errorMessage")
    if error:
        console.print(Text(str(error).rstrip(), style="red"))
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(wait)
