"""The ``spaces`` Typer app: global options, command registration, and errors turned into messages.

Every ``SpacesError`` raised below a command (by the client, by id validation, by a command) is
printed as ``Error: message`` in red on stderr with exit status 1, in ``SpacesGroup.invoke``; a 401
adds how to get a token. Ctrl-C exits quietly with status 130.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from orchestrator.cli import output
from orchestrator.cli.commands import logs, serve, sleep, spaces, users, wait
from orchestrator.cli.config import CliConfig, Credentials, resolve
from orchestrator.errors import AuthError, SpacesError


def auth_hint(credentials: Credentials | None) -> str:
    """What to do after a 401, depending on whether a token was sent and from where."""
    how = (
        "Get a token with 'spaces users add NAME' run on the server machine (or use its admin token),"
        " then 'spaces login --token TOKEN'."
    )
    if credentials is not None and credentials.token:
        return f"The token from {credentials.source} was rejected. {how}"
    return f"No token found (--token, $SPACES_TOKEN, $HF_TOKEN or 'spaces login'). {how}"


class SpacesGroup(TyperGroup):
    """The root command group; the one place where our errors become messages."""

    # ``Any``: the base class types this with the Click context that recent Typer vendors privately.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except AuthError as exc:
            config = ctx.find_root().obj
            output.print_error(
                exc.message, auth_hint(config.credentials if isinstance(config, CliConfig) else None)
            )
            raise typer.Exit(1) from None
        except SpacesError as exc:
            output.print_error(exc.message)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None


app = typer.Typer(
    cls=SpacesGroup,
    name="spaces",
    help="Run and manage Spaces on a self-hosted control plane.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            help="Control plane URL (env SPACES_URL; default http://localhost:8000).", show_default=False
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            help="Access token (env SPACES_TOKEN or HF_TOKEN; else the one 'spaces login' saved).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run and manage Spaces on a self-hosted control plane."""
    ctx.obj = resolve(url, token)


serve.register(app)
users.register(app)
spaces.register(app)
wait.register(app)
logs.register(app)
sleep.register(app)
