"""Accounts and tokens: ``login``, ``whoami``, ``users add`` and ``tokens create``.

Commands that create a token print it alone on stdout (``TOKEN=$(spaces users add alice)``) and
say what happened on stderr.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from orchestrator.cli import output
from orchestrator.cli.client import ControlPlane, as_object
from orchestrator.cli.config import save_token
from orchestrator.cli.context import config_of, control_plane
from orchestrator.errors import AuthError, SpacesError

users_app = typer.Typer(help="Manage users (admin only).", no_args_is_help=True)
tokens_app = typer.Typer(help="Manage your access tokens.", no_args_is_help=True)


class Role(StrEnum):
    read = "read"
    write = "write"


def _token_of(answer: Any) -> str:
    token = as_object(answer).get("token")
    if not isinstance(token, str) or not token:
        raise SpacesError("the control plane answered without a token")
    return token


def login(
    ctx: typer.Context,
    token: Annotated[
        str, typer.Option("--token", prompt=True, hide_input=True, help="The token to check and save.")
    ],
) -> None:
    """Check a token against the control plane and save it for later commands."""
    url = config_of(ctx).url
    try:
        me = as_object(ControlPlane(url, token).get("/api/whoami-v2"))
    except AuthError as exc:
        raise SpacesError(f"the control plane at {url} rejected this token: {exc.message}") from exc
    path = save_token(token)
    output.info(f"Logged in to {url} as {output.text_of(me.get('name'))}; token saved to {path}")


def whoami(ctx: typer.Context) -> None:
    """Print the user the current token belongs to."""
    me = as_object(control_plane(ctx).get("/api/whoami-v2"))
    typer.echo(output.text_of(me.get("name")))
    details = []
    if me.get("admin") or me.get("isAdmin"):
        details.append("admin")
    role = output.field(me, "auth", "accessToken", "role")
    if role:
        details.append(f"{role} token")
    details.append(f"token from {config_of(ctx).credentials.source}")
    output.info(", ".join(details))


@users_app.command("add")
def add_user(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The new user's name.")],
    admin: Annotated[
        bool, typer.Option("--admin", help="Let this user manage users and all Spaces.")
    ] = False,
) -> None:
    """Create a user and print their first token (alone, on stdout)."""
    token = _token_of(control_plane(ctx).post("/api/users", json={"name": name, "admin": admin}))
    typer.echo(token)
    kind = "admin user" if admin else "user"
    output.info(f"Created {kind} {name}. Give them the token above; they run: spaces login --token TOKEN")


@tokens_app.command("create")
def create_token(
    ctx: typer.Context,
    role: Annotated[Role, typer.Option("--role", help="What the token may do.")] = Role.write,
    name: Annotated[str | None, typer.Option("--name", help="A label to recognise the token by.")] = None,
) -> None:
    """Create an access token for yourself and print it (alone, on stdout)."""
    answer = as_object(control_plane(ctx).post("/api/tokens", json={"role": role.value, "name": name}))
    typer.echo(_token_of(answer))
    output.info(f"Created a {output.text_of(answer.get('role') or role.value)} token.")


def register(app: typer.Typer) -> None:
    app.command()(login)
    app.command()(whoami)
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
