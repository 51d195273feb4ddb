"""Which builder handles a Space: the ordered list of builders and the choice between them.

Owns ``BUILDERS``, ``select_builder`` (README.md's ``sdk`` decides, never a stray Dockerfile) and
``plan_build``, the one call that goes from a commit's files to a ``BuildPlan``.
"""

from __future__ import annotations

from builders.base import Builder, BuildOptions, BuildPlan
from builders.config import VALID_SDKS, SpaceConfig, parse_space_config
from builders.errors import README, ConfigError
from builders.files import RepoFiles
from builders.gradio import GradioBuilder

BUILDERS: tuple[Builder, ...] = (GradioBuilder(),)
"""Every builder this server has, in the order they are offered."""


def supported_sdks() -> tuple[str, ...]:
    return tuple(builder.sdk for builder in BUILDERS)


def select_builder(config: SpaceConfig, files: RepoFiles) -> Builder:
    """The builder for ``config.sdk``; a ``ConfigError`` on the ``sdk`` line if this server has none."""
    for builder in BUILDERS:
        if builder.sdk == config.sdk:
            return builder
    supported = ", ".join(supported_sdks())
    known = "" if config.sdk in VALID_SDKS else " (and is not an SDK the Hub knows)"
    raise ConfigError(
        f"sdk: {config.sdk} is not supported on this server yet{known}; supported: {supported}",
        line=config.line_of("sdk"),
    )


def plan_build(files: RepoFiles, options: BuildOptions | None = None) -> BuildPlan:
    """Read README.md, parse its front matter, pick the builder and plan the build."""
    config = parse_space_config(files.read_text(README))
    builder = select_builder(config, files)
    return builder.plan(config, files, options=options or BuildOptions())
