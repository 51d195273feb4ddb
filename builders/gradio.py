"""The Gradio SDK: ``sdk: gradio`` Spaces, started as ``python app.py`` on port 7860.

Owns recognising a Gradio app and planning its build on a prebuilt ``gradio:<version>-py<python>``
base image, with the environment the Hub gives Gradio Spaces.
"""

from __future__ import annotations

import re

from builders.base import (
    DEFAULT_STARTUP_TIMEOUT,
    Builder,
    BuildOptions,
    BuildPlan,
    SdkBaseRecipe,
    dependency_key,
)
from builders.config import DEFAULT_APP_FILE, SpaceConfig
from builders.files import RepoFiles
from builders.inputs import (
    PACKAGES,
    PRE_REQUIREMENTS,
    REQUIREMENTS,
    choose_python,
    find_pinned_sdk,
    read_apt_packages,
    read_requirements,
    require_app_file,
)

GRADIO_PORT = 7860
_IMPORTS_GRADIO = re.compile(r"^\s*(?:import\s+gradio\b|from\s+gradio\b)", re.MULTILINE)


def gradio_env(port: int) -> dict[str, str]:
    """The environment the Hub starts Gradio Spaces with."""
    return {
        "GRADIO_SERVER_NAME": "0.0.0.0",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_NUM_PORTS": "1",
        "GRADIO_ALLOW_FLAGGING": "never",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONUNBUFFERED": "1",
        "SYSTEM": "spaces",
    }


class GradioBuilder(Builder):
    sdk = "gradio"

    def detect(self, files: RepoFiles, app_file: str = DEFAULT_APP_FILE) -> bool:
        candidates = dict.fromkeys((app_file, DEFAULT_APP_FILE))
        return any(_IMPORTS_GRADIO.search(files.read_text(path) or "") for path in candidates)

    def plan(self, config: SpaceConfig, files: RepoFiles, *, options: BuildOptions) -> BuildPlan:
        require_app_file(config, files)
        notes: list[str] = [_sdk_note(config)]

        python_version, python_note = choose_python(config, options.available_pythons)
        sdk_version = config.sdk_version or options.default_gradio_version
        if config.sdk_version is None:
            notes.append(f"sdk_version not set; using gradio {sdk_version}, this server's default")
        else:
            notes.append(
                f"gradio {sdk_version} (sdk_version, README.md line {config.line_of('sdk_version')})"
            )
        notes.append(f"Python {python_version}")
        if python_note:
            notes.append(python_note)

        requirements = read_requirements(files, REQUIREMENTS)
        pre_requirements = read_requirements(files, PRE_REQUIREMENTS)
        apt_packages = read_apt_packages(files)
        notes.extend(_dependency_notes(requirements, pre_requirements, apt_packages, sdk_version))
        if not self.detect(files, config.app_file):
            notes.append(f"{config.app_file} does not import gradio; starting it anyway as README.md says")
        if config.line_of("app_port") is not None and config.app_port != GRADIO_PORT:
            notes.append(f"app_port is for docker Spaces; a gradio Space listens on {GRADIO_PORT}")
        notes.extend(f"README.md: {warning}" for warning in config.warnings)
        notes.append(f"start: python {config.app_file} on port {GRADIO_PORT}")

        base_image = options.sdk_image(self.sdk, sdk_version, python_version)
        return BuildPlan(
            sdk=self.sdk,
            sdk_version=sdk_version,
            python_version=python_version,
            base_image=base_image,
            sdk_base_recipe=SdkBaseRecipe(
                image=base_image,
                sdk=self.sdk,
                sdk_version=sdk_version,
                python_version=python_version,
                python_image=options.python_image(python_version),
            ),
            requirements=requirements,
            pre_requirements=pre_requirements,
            apt_packages=apt_packages,
            app_file=config.app_file,
            port=GRADIO_PORT,
            env=gradio_env(GRADIO_PORT),
            preload=("gradio",),
            deps_key=dependency_key(
                base_image=base_image,
                sdk=self.sdk,
                sdk_version=sdk_version,
                python_version=python_version,
                requirements=requirements,
                pre_requirements=pre_requirements,
                apt_packages=apt_packages,
            ),
            notes=tuple(notes),
            startup_timeout=config.startup_duration_timeout or DEFAULT_STARTUP_TIMEOUT,
            config=config,
        )


def _sdk_note(config: SpaceConfig) -> str:
    return f"sdk: gradio (README.md line {config.line_of('sdk')}), so building a Gradio app"


def _dependency_notes(
    requirements: str | None,
    pre_requirements: str | None,
    apt_packages: tuple[str, ...],
    sdk_version: str,
) -> list[str]:
    notes: list[str] = []
    if apt_packages:
        notes.append(f"{PACKAGES}: apt-get install {' '.join(apt_packages)}")
    if pre_requirements is not None:
        notes.append(f"{PRE_REQUIREMENTS}: installed first")
    if requirements is not None:
        notes.append(f"{REQUIREMENTS}: installed with gradio=={sdk_version}")
    for line, text in find_pinned_sdk(requirements, "gradio"):
        notes.append(f"{REQUIREMENTS} line {line} names gradio ({text}); sdk_version {sdk_version} wins")
    if requirements is None and pre_requirements is None and not apt_packages:
        notes.append("no requirements.txt, pre-requirements.txt or packages.txt; using the base image as is")
    return notes
