"""The builder interface and the build plan every builder produces.

Owns ``Builder`` (one subclass per SDK: ``detect`` whether a repo is its kind, ``plan`` its build),
``BuildOptions`` (what this server offers: base images and Python versions) and ``BuildPlan``, the
plain, frozen description of a build that the recipe renderers and the orchestrator consume. No I/O
happens here beyond reading the repo through ``RepoFiles``.
"""

from __future__ import annotations

import abc
import hashlib
import json
from dataclasses import dataclass, field
from typing import ClassVar

from builders.config import DEFAULT_APP_FILE, SpaceConfig
from builders.files import RepoFiles

DEFAULT_GRADIO_VERSION = "6.31.0"
"""The newest gradio on PyPI when this was written; used when a README has no ``sdk_version``."""

DEFAULT_STARTUP_TIMEOUT = 30 * 60.0
"""The Hub's default ``startup_duration_timeout`` (30m), in seconds."""

DEPS_RECIPE_VERSION = 2
"""Part of every ``deps_key``; bump it when recipe.py changes how the dependency stage is built."""


@dataclass(frozen=True)
class BuildOptions:
    """What this server can build with; the orchestrator fills it from its settings."""

    base_image_prefix: str = "localhost/spaces"
    available_pythons: tuple[str, ...] = ("3.11",)
    default_gradio_version: str = DEFAULT_GRADIO_VERSION

    def python_image(self, python_version: str) -> str:
        return f"{self.base_image_prefix}/python:{python_version}"

    def sdk_image(self, sdk: str, sdk_version: str, python_version: str) -> str:
        return f"{self.base_image_prefix}/{sdk}:{sdk_version}-py{python_version}"


@dataclass(frozen=True)
class SdkBaseRecipe:
    """What is needed to build ``image`` (an SDK preinstalled on a Python base) if it is missing."""

    image: str
    sdk: str
    sdk_version: str
    python_version: str
    python_image: str


@dataclass(frozen=True)
class BuildPlan:
    """Everything needed to build and start one commit of a Space, decided before any build runs."""

    sdk: str
    sdk_version: str
    python_version: str
    base_image: str
    sdk_base_recipe: SdkBaseRecipe
    requirements: str | None
    pre_requirements: str | None
    apt_packages: tuple[str, ...]
    app_file: str
    port: int
    env: dict[str, str]
    preload: tuple[str, ...]
    deps_key: str
    notes: tuple[str, ...]
    startup_timeout: float
    config: SpaceConfig = field(compare=False)


def dependency_key(
    *,
    base_image: str,
    sdk: str,
    sdk_version: str,
    python_version: str,
    requirements: str | None,
    pre_requirements: str | None,
    apt_packages: tuple[str, ...],
) -> str:
    """sha256 over every input of the dependency layer; the app's own files are deliberately not in it."""
    inputs = {
        "recipe": DEPS_RECIPE_VERSION,
        "base_image": base_image,
        "sdk": sdk,
        "sdk_version": sdk_version,
        "python_version": python_version,
        "requirements": requirements,
        "pre_requirements": pre_requirements,
        "apt_packages": list(apt_packages),
    }
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Builder(abc.ABC):
    """One kind of Space (one ``sdk``): recognises its repos and plans their builds."""

    sdk: ClassVar[str]

    @abc.abstractmethod
    def detect(self, files: RepoFiles, app_file: str = DEFAULT_APP_FILE) -> bool:
        """Whether the repo looks like this SDK's (a hint for build notes; the README decides)."""

    @abc.abstractmethod
    def plan(self, config: SpaceConfig, files: RepoFiles, *, options: BuildOptions) -> BuildPlan:
        """The build plan for this repo; raises ``ConfigError`` (or ``NoAppFileError``)."""
