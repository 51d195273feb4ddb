"""What every Python SDK (gradio, streamlit) shares: the plan of an SDK installed on a Python base.

Owns ``PythonSdkBuilder``: the checks (app file, Python version, requirements, packages.txt), the
notes written to the build log, the base image ``<sdk>:<version>-py<python>`` and the dependency key.
A subclass says only what differs: how the app is recognised, its environment and how it starts.
"""

from __future__ import annotations

import re
from typing import ClassVar

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
    read_preload_from_hub,
    read_requirements,
    require_app_file,
)

SDK_PORT = 7860
"""The port gradio and streamlit Spaces listen on, as on the Hub."""


def imports(module: str) -> re.Pattern[str]:
    """A pattern matching a top-level ``import module`` or ``from module ...`` line."""
    name = re.escape(module)
    return re.compile(rf"^\s*(?:import\s+{name}\b|from\s+{name}\b)", re.MULTILINE)


class PythonSdkBuilder(Builder):
    """A Python SDK: ``sdk_version`` pins the package, ``python_version`` picks the interpreter."""

    title: ClassVar[str]
    """The SDK's name in build notes (``Gradio``)."""

    def detect(self, files: RepoFiles, app_file: str = DEFAULT_APP_FILE) -> bool:
        pattern = imports(self.sdk)
        candidates = dict.fromkeys((app_file, DEFAULT_APP_FILE))
        return any(pattern.search(files.read_text(path) or "") for path in candidates)

    def env(self, port: int) -> dict[str, str]:
        """The environment the Hub starts this SDK's Spaces with."""
        return {"PYTHONUNBUFFERED": "1", "SYSTEM": "spaces"}

    def start(self, config: SpaceConfig) -> tuple[str | None, tuple[str, ...]]:
        """``(module, args)`` to run as ``python -m``; ``(None, ())`` runs ``python app_file``."""
        return None, ()

    def preload(self) -> tuple[str, ...]:
        """Modules a warm standby imports before the app arrives."""
        return (self.sdk,)

    def plan(self, config: SpaceConfig, files: RepoFiles, *, options: BuildOptions) -> BuildPlan:
        require_app_file(config, files)
        notes: list[str] = []
        python_version, python_note = choose_python(config, options.available_pythons)
        sdk_version = config.sdk_version or options.default_sdk_version(self.sdk)
        if config.sdk_version is None:
            notes.append(f"sdk_version not set; using {self.sdk} {sdk_version}, this server's default")
        else:
            line = config.line_of("sdk_version")
            notes.append(f"{self.sdk} {sdk_version} (sdk_version, README.md line {line})")
        notes.append(f"Python {python_version}")
        if python_note:
            notes.append(python_note)

        requirements = read_requirements(files, REQUIREMENTS)
        pre_requirements = read_requirements(files, PRE_REQUIREMENTS)
        apt_packages = read_apt_packages(files)
        preload_from_hub = read_preload_from_hub(config)
        notes.extend(self._dependency_notes(requirements, pre_requirements, apt_packages, sdk_version))
        if not self.detect(files, config.app_file):
            notes.append(
                f"{config.app_file} does not import {self.sdk}; starting it anyway as README.md says"
            )
        if config.line_of("app_port") is not None and config.app_port != SDK_PORT:
            notes.append(f"app_port is for docker Spaces; a {self.sdk} Space listens on {SDK_PORT}")
        module, module_args = self.start(config)
        command = f"python -m {module} {' '.join(module_args)}" if module else f"python {config.app_file}"
        notes.append(f"start: {command} on port {SDK_PORT}")

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
            port=SDK_PORT,
            env=self.env(SDK_PORT),
            preload=self.preload(),
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
            module=module,
            module_args=module_args,
            preload_from_hub=preload_from_hub,
        )

    def _dependency_notes(
        self,
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
            notes.append(f"{REQUIREMENTS}: installed with {self.sdk}=={sdk_version}")
        for line, text in find_pinned_sdk(requirements, self.sdk):
            notes.append(
                f"{REQUIREMENTS} line {line} names {self.sdk} ({text}); sdk_version {sdk_version} wins"
            )
        if requirements is None and pre_requirements is None and not apt_packages:
            notes.append(
                "no requirements.txt, pre-requirements.txt or packages.txt; using the base image as is"
            )
        return notes
