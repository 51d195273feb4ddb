"""Builders: pure functions from a Space repo's files to a build plan and a container recipe.

Owns reading README.md's front matter (``parse_space_config``), choosing the builder for the
Space's SDK (``select_builder``), planning the build (``plan_build``) and rendering the recipe
(``render_containerfile``, ``context_files``, ``venv_spec``). It performs no builds, runs no
containers and must never import ``orchestrator``: the dependency points one way.
"""

from builders.base import (
    DEFAULT_GRADIO_VERSION,
    DEFAULT_STARTUP_TIMEOUT,
    DEFAULT_STREAMLIT_VERSION,
    Builder,
    BuildOptions,
    BuildPlan,
    SdkBaseRecipe,
)
from builders.config import VALID_SDKS, SpaceConfig, parse_space_config
from builders.docker import DockerBuilder
from builders.errors import ConfigError, NoAppFileError
from builders.files import DirectoryFiles, MemoryFiles, RepoFiles
from builders.gradio import GradioBuilder
from builders.recipe import VenvSpec, context_files, render_containerfile, venv_spec
from builders.registry import BUILDERS, detect_sdk, plan_build, select_builder, supported_sdks
from builders.static import StaticBuilder
from builders.streamlit import StreamlitBuilder

__all__ = [
    "BUILDERS",
    "DEFAULT_GRADIO_VERSION",
    "DEFAULT_STARTUP_TIMEOUT",
    "DEFAULT_STREAMLIT_VERSION",
    "VALID_SDKS",
    "BuildOptions",
    "BuildPlan",
    "Builder",
    "ConfigError",
    "DirectoryFiles",
    "DockerBuilder",
    "GradioBuilder",
    "MemoryFiles",
    "NoAppFileError",
    "RepoFiles",
    "SdkBaseRecipe",
    "SpaceConfig",
    "StaticBuilder",
    "StreamlitBuilder",
    "VenvSpec",
    "context_files",
    "detect_sdk",
    "parse_space_config",
    "plan_build",
    "render_containerfile",
    "select_builder",
    "supported_sdks",
    "venv_spec",
]
