"""Builders: pure functions from a Space repo's files to a build plan and a container recipe.

Owns reading README.md's front matter (``parse_space_config``), choosing the builder for the
Space's SDK (``select_builder``), planning the build (``plan_build``) and rendering the recipe
(``render_containerfile``, ``context_files``, ``venv_spec``). It performs no builds, runs no
containers and must never import ``orchestrator``: the dependency points one way.
"""

from builders.base import (
    DEFAULT_GRADIO_VERSION,
    DEFAULT_STARTUP_TIMEOUT,
    Builder,
    BuildOptions,
    BuildPlan,
    SdkBaseRecipe,
)
from builders.config import VALID_SDKS, SpaceConfig, parse_space_config
from builders.errors import ConfigError, NoAppFileError
from builders.files import DirectoryFiles, MemoryFiles, RepoFiles
from builders.gradio import GradioBuilder
from builders.recipe import VenvSpec, context_files, render_containerfile, venv_spec
from builders.registry import BUILDERS, plan_build, select_builder, supported_sdks

__all__ = [
    "BUILDERS",
    "DEFAULT_GRADIO_VERSION",
    "DEFAULT_STARTUP_TIMEOUT",
    "VALID_SDKS",
    "BuildOptions",
    "BuildPlan",
    "Builder",
    "ConfigError",
    "DirectoryFiles",
    "GradioBuilder",
    "MemoryFiles",
    "NoAppFileError",
    "RepoFiles",
    "SdkBaseRecipe",
    "SpaceConfig",
    "VenvSpec",
    "context_files",
    "parse_space_config",
    "plan_build",
    "render_containerfile",
    "select_builder",
    "supported_sdks",
    "venv_spec",
]
