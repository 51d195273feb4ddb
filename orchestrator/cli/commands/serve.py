"""``spaces serve``: run the control plane in the foreground on this machine.

The server is imported only when this command runs, so every other command stays a light HTTP client.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from orchestrator.errors import SpacesError


def serve(
    host: Annotated[
        str | None, typer.Option(help="Listen address (default: $SPACES_HOST or 0.0.0.0).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: $SPACES_PORT or 8000).")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (default: $SPACES_DATA_DIR).")] = None,
) -> None:
    """Start the control plane (API, git server and app proxy) in the foreground."""
    from pydantic import ValidationError

    from orchestrator.settings import Settings

    overrides: dict[str, Any] = {"host": host, "port": port, "data_dir": data_dir}
    try:
        settings = Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as exc:
        raise SpacesError(f"invalid configuration: {exc}") from exc
    try:
        from orchestrator.server import serve as run_server
    except ModuleNotFoundError as exc:
        raise SpacesError(f"cannot start the control plane: {exc}") from exc
    run_server(settings)


def register(app: typer.Typer) -> None:
    app.command()(serve)
