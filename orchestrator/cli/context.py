"""How a command gets at the configuration the global options set up (kept in ``ctx.obj``)."""

from __future__ import annotations

import typer

from orchestrator.cli.client import ControlPlane
from orchestrator.cli.config import CliConfig, resolve


def config_of(ctx: typer.Context) -> CliConfig:
    """The configuration of this invocation; resolved from the environment if no callback ran."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliConfig):
        root.obj = resolve(None, None)
    return root.obj


def control_plane(ctx: typer.Context) -> ControlPlane:
    """A client of the configured control plane with the resolved token."""
    config = config_of(ctx)
    return ControlPlane(config.url, config.credentials.token)
