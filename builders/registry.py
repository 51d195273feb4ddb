"""Which builder handles a Space: the ordered list of builders and the choice between them.

Owns ``BUILDERS``, ``select_builder`` and ``plan_build``, the one call that goes from a commit's files
to a ``BuildPlan``. README.md's ``sdk`` decides (a stray Dockerfile never overrides it); when the front
matter names no SDK the repo's files do, in the order of ``DETECTION_ORDER``: a Dockerfile, an app
importing gradio or streamlit, an ``index.html``. The decision is the first of the plan's notes, which
the build log shows.
"""

from __future__ import annotations

import dataclasses

from builders.base import Builder, BuildOptions, BuildPlan
from builders.config import VALID_SDKS, SpaceConfig, parse_space_config
from builders.docker import DockerBuilder
from builders.errors import README, ConfigError
from builders.files import RepoFiles
from builders.frontmatter import MINIMAL_EXAMPLE
from builders.gradio import GradioBuilder
from builders.static import StaticBuilder
from builders.streamlit import StreamlitBuilder

BUILDERS: tuple[Builder, ...] = (GradioBuilder(), StreamlitBuilder(), StaticBuilder(), DockerBuilder())
"""Every builder this server has, in the order they are offered."""

DETECTION_ORDER = ("docker", "gradio", "streamlit", "static")
"""Which repo files win when the front matter names no SDK."""

_CLUES = {
    "docker": "a Dockerfile",
    "gradio": "{app_file} imports gradio",
    "streamlit": "{app_file} imports streamlit",
    "static": "an index.html",
}


def supported_sdks() -> tuple[str, ...]:
    return tuple(builder.sdk for builder in BUILDERS)


def _by_sdk(sdk: str) -> Builder | None:
    return next((builder for builder in BUILDERS if builder.sdk == sdk), None)


def detect_sdk(config: SpaceConfig, files: RepoFiles) -> tuple[Builder, str]:
    """The builder the repo's files point to, and a note saying why; ``ConfigError`` if none does."""
    for sdk in DETECTION_ORDER:
        builder = _by_sdk(sdk)
        if builder is not None and builder.detect(files, config.app_file):
            clue = _CLUES[sdk].format(app_file=config.app_file)
            return builder, f"README.md names no sdk; the repo has {clue}, so building it as sdk: {sdk}"
    raise ConfigError(
        "the front matter has no `sdk` key and the files do not tell: no Dockerfile, "
        f"{config.app_file} does not import gradio or streamlit, and there is no index.html. "
        f"Say how to build the Space ({', '.join(VALID_SDKS)}), for example:\n\n{MINIMAL_EXAMPLE}"
    )


def select_builder(config: SpaceConfig, files: RepoFiles) -> Builder:
    """The builder for ``config.sdk`` (detected from the files when absent)."""
    return _select(config, files)[0]


def _select(config: SpaceConfig, files: RepoFiles) -> tuple[Builder, str]:
    if config.sdk is None:
        return detect_sdk(config, files)
    builder = _by_sdk(config.sdk)
    if builder is not None:
        return builder, f"sdk: {config.sdk} (README.md line {config.line_of('sdk')})"
    supported = ", ".join(supported_sdks())
    known = "" if config.sdk in VALID_SDKS else " (and is not an SDK the Hub knows)"
    raise ConfigError(
        f"sdk: {config.sdk} is not supported on this server yet{known}; supported: {supported}",
        line=config.line_of("sdk"),
    )


def plan_build(files: RepoFiles, options: BuildOptions | None = None) -> BuildPlan:
    """Read README.md, parse its front matter, pick the builder and plan the build."""
    config = parse_space_config(files.read_text(README))
    builder, decision = _select(config, files)
    plan = builder.plan(config, files, options=options or BuildOptions())
    return dataclasses.replace(plan, notes=(decision, *plan.notes))
