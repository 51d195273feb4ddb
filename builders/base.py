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

DEFAULT_STREAMLIT_VERSION = "1.67.0"
"""The newest streamlit on PyPI when this was written; used when a README has no ``sdk_version``."""

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
    default_streamlit_version: str = DEFAULT_STREAMLIT_VERSION

    def python_image(self, python_version: str) -> str:
        return f"{self.base_image_prefix}/python:{python_version}"

    def node_image(self) -> str:
        """The image static Spaces run ``app_build_command`` in (Node.js and npm from Debian)."""
        return f"{self.base_image_prefix}/node:bookworm"

    def default_sdk_version(self, sdk: str) -> str:
        return {"gradio": self.default_gradio_version, "streamlit": self.default_streamlit_version}[sdk]

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


PLAN_KINDS = ("python", "static", "docker")
"""``BuildPlan.kind``: an SDK on a Python base image, files served as they are, or the repo's Dockerfile."""


@dataclass(frozen=True)
class BuildPlan:
    """Everything needed to build and start one commit of a Space, decided before any build runs.

    ``kind`` says which of the other fields matter: ``python`` (gradio, streamlit) uses the SDK,
    Python and dependency fields and starts ``python app_file`` or, when ``module`` is set,
    ``python -m module *module_args``; ``static`` runs ``build_command`` (if any) on ``base_image``
    (Node.js) and serves ``static_dir``; ``docker`` builds ``dockerfile`` as it is and runs it as
    the user it names, with ``port`` the ``app_port``.
    """

    sdk: str
    sdk_version: str
    python_version: str
    base_image: str
    sdk_base_recipe: SdkBaseRecipe | None
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
    kind: str = "python"
    module: str | None = None
    module_args: tuple[str, ...] = ()
    build_command: str | None = None
    static_dir: str = ""
    """Folder served for a static Space, relative to the repo after ``build_command`` ran ("" = root)."""
    static_index: str = "index.html"
    dockerfile: str = "Dockerfile"
    build_secrets: tuple[str, ...] = ()
    """Secret ids a docker Space's Dockerfile mounts at build time."""
    preload_from_hub: tuple[str, ...] = ()
    """Hub repos the README asks to download at build time (recorded; see the build log)."""


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
