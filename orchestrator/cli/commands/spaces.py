"""Space lifecycle commands: ``create``, ``list``, ``status``, ``delete`` and ``restart``."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.text import Text

from orchestrator.cli import output
from orchestrator.cli.client import as_list, as_object
from orchestrator.cli.context import control_plane
from orchestrator.naming import split_space_id

SpaceIdArgument = Annotated[str, typer.Argument(metavar="OWNER/NAME", help="The Space, e.g. alice/hello.")]


def space_path(space_id: str) -> str:
    """The API path of a Space, after checking its id."""
    owner, name = split_space_id(space_id)
    return f"/api/spaces/{owner}/{name}"


def create(
    ctx: typer.Context,
    space_id: SpaceIdArgument,
    sdk: Annotated[str, typer.Option(help="gradio, streamlit, docker or static.")] = "gradio",
    private: Annotated[bool, typer.Option("--private", help="Only the owner can see and use it.")] = False,
    hardware: Annotated[str, typer.Option(help="Hardware flavour to request.")] = "cpu-basic",
) -> None:
    """Create a Space and print where to push it and where it will be served."""
    owner, name = split_space_id(space_id)
    api = control_plane(ctx)
    payload = {
        "type": "space",
        "name": name,
        "organization": owner,
        "sdk": sdk,
        "private": private,
        "hardware": hardware,
    }
    created = as_object(api.post("/api/repos/create", json=payload))
    info = as_object(api.get(f"/api/spaces/{owner}/{name}"))
    git_url = output.text_of(info.get("gitUrl") or created.get("url"))
    console = output.stdout()
    console.print(Text(f"Created {owner}/{name}", style="bold"))
    console.print(Text(f"  git:  {git_url}"))
    console.print(Text(f"  app:  {output.text_of(info.get('appUrl') or info.get('host'))}"))
    console.print()
    console.print(Text("Push your app (user name: your user, password: your token):"))
    console.print(Text(f"  git remote add space {git_url} && git push space main"))


def list_spaces(
    ctx: typer.Context,
    author: Annotated[str | None, typer.Option(help="Only the Spaces of this user.")] = None,
) -> None:
    """List Spaces with their SDK, stage and app URL."""
    params = {"author": author} if author else None
    spaces = [as_object(item) for item in as_list(control_plane(ctx).get("/api/spaces", params=params))]
    output.render_space_list(spaces)


def status(
    ctx: typer.Context,
    space_id: SpaceIdArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print the server's answer as JSON.")] = False,
) -> None:
    """Show a Space's stage, the commits being built and served, errors, warnings and URLs."""
    info: Any = control_plane(ctx).get(space_path(space_id))
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    output.render_status(as_object(info))


def delete(
    ctx: typer.Context,
    space_id: SpaceIdArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a Space: its repo, its builds and its running app."""
    owner, name = split_space_id(space_id)
    if not yes:
        typer.confirm(f"Delete {owner}/{name}, its repo and its app? This cannot be undone", abort=True)
    payload = {"name": name, "organization": owner, "type": "space"}
    control_plane(ctx).delete("/api/repos/delete", json=payload)
    output.info(f"Deleted {owner}/{name}")


def restart(
    ctx: typer.Context,
    space_id: SpaceIdArgument,
    factory: Annotated[
        bool, typer.Option("--factory", help="Rebuild from scratch, without the build cache.")
    ] = False,
) -> None:
    """Restart a Space's app (or rebuild it from scratch with --factory)."""
    params = {"factory": "true"} if factory else None
    control_plane(ctx).post(f"{space_path(space_id)}/restart", params=params)
    what = "Factory rebuild" if factory else "Restart"
    output.info(f"{what} of {space_id} requested; follow it with: spaces wait {space_id}")


def register(app: typer.Typer) -> None:
    app.command()(create)
    app.command("list")(list_spaces)
    app.command()(status)
    app.command()(delete)
    app.command()(restart)
