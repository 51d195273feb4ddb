"""Rendering a ``BuildPlan`` into what runs it: a Containerfile, or a venv for local processes.

Owns the container recipe: a ``deps`` stage (base image, apt packages, Python requirements) whose
text depends only on the plan's dependency inputs, so a commit that changes only app files leaves it
byte-identical and the engine's layer cache reuses it (the SDK pin is passed to uv as an override, so
a conflicting pin in requirements.txt cannot change the SDK version); then an ``app`` stage that
copies the repo and says how to start it. Pure functions of the plan; the orchestrator writes the
files and runs the build.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from builders.base import BuildPlan

CONTEXT_DIR = ".spaces"
"""Folder in the build context where the orchestrator writes ``context_files``."""

PRE_REQUIREMENTS_PATH = f"{CONTEXT_DIR}/pre-requirements.txt"
REQUIREMENTS_PATH = f"{CONTEXT_DIR}/requirements.txt"
SDK_OVERRIDES_PATH = f"{CONTEXT_DIR}/sdk-overrides.txt"

HOME = "/home/user"
APP_DIR = f"{HOME}/app"
DEPS_DIR = f"{HOME}/.spaces"
VENV_PYTHON = f"{HOME}/.venv/bin/python"
UV_CACHE_MOUNT = f"--mount=type=cache,target={HOME}/.cache/uv,uid=1000,gid=1000"
# The cache mount is another filesystem than the venv, so uv cannot hardlink from it.
UV_INSTALL = f"RUN {UV_CACHE_MOUNT} UV_LINK_MODE=copy uv pip install --python {VENV_PYTHON}"

APP_STAGE_START = "FROM deps AS app"


@dataclass(frozen=True)
class VenvSpec:
    """A virtual environment for running the Space as a local process (no container).

    Install ``pre_requirements`` first, then ``requirements`` together with ``packages``, passing
    ``overrides`` to ``uv pip install --override`` so the SDK version wins over any pin of it.
    """

    python_version: str
    packages: tuple[str, ...]
    overrides: tuple[str, ...]
    requirements: str | None
    pre_requirements: str | None
    deps_key: str


RUNTIME_EXTRAS: dict[str, tuple[str, ...]] = {"gradio": ("spaces",)}
"""Packages the Hub installs beside an SDK: Gradio Spaces get ``spaces`` (ZeroGPU decorators, reloading)."""


def sdk_requirement(plan: BuildPlan) -> str:
    """The pin that keeps the SDK at ``sdk_version`` whatever requirements.txt asks for."""
    return f"{plan.sdk}=={plan.sdk_version}"


def context_files(plan: BuildPlan) -> dict[str, str]:
    """Files (relative path → text) the orchestrator must add to the build context."""
    files: dict[str, str] = {}
    if plan.pre_requirements is not None:
        files[PRE_REQUIREMENTS_PATH] = plan.pre_requirements
    if plan.requirements is not None:
        files[REQUIREMENTS_PATH] = plan.requirements
        files[SDK_OVERRIDES_PATH] = sdk_requirement(plan) + "\n"
    return files


def render_deps_stage(plan: BuildPlan) -> str:
    """The ``deps`` stage; its text depends only on the inputs hashed into ``plan.deps_key``."""
    lines = [f"FROM {plan.base_image} AS deps"]
    if plan.apt_packages:
        lines += [
            "USER root",
            "RUN apt-get update \\\n"
            " && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
            f"{' '.join(plan.apt_packages)} \\\n"
            " && rm -rf /var/lib/apt/lists/*",
            "USER user",
        ]
    sources = list(context_files(plan))
    if sources:
        lines.append(f"COPY --chown=1000:1000 {' '.join(sources)} {DEPS_DIR}/")
        if plan.pre_requirements is not None:
            lines.append(f"{UV_INSTALL} -r {DEPS_DIR}/pre-requirements.txt")
        requirements = ""
        if plan.requirements is not None:
            requirements = f" -r {DEPS_DIR}/requirements.txt --override {DEPS_DIR}/sdk-overrides.txt"
        packages = " ".join(
            shlex.quote(p) for p in (sdk_requirement(plan), *RUNTIME_EXTRAS.get(plan.sdk, ()))
        )
        lines.append(f"{UV_INSTALL}{requirements} {packages}")
    return "\n".join(lines) + "\n"


def render_app_stage(plan: BuildPlan) -> str:
    """The ``app`` stage: the repo's files on top of ``deps``, the environment and the command."""
    env = " \\\n    ".join(f"{key}={json.dumps(value)}" for key, value in plan.env.items())
    lines = [
        APP_STAGE_START,
        f"COPY --chown=1000:1000 . {APP_DIR}",
        f"WORKDIR {APP_DIR}",
    ]
    if env:
        lines.append(f"ENV {env}")
    lines += [
        f"EXPOSE {plan.port}",
        f"CMD {json.dumps(start_command(plan))}",
    ]
    return "\n".join(lines) + "\n"


def start_command(plan: BuildPlan) -> list[str]:
    """How a Python SDK's app starts: ``python app.py``, or ``python -m streamlit run app.py ...``."""
    if plan.module:
        return ["python", "-m", plan.module, *plan.module_args]
    return ["python", plan.app_file]


def render_containerfile(plan: BuildPlan) -> str:
    """The whole multi-stage Containerfile; build it with ``context_files`` in the context."""
    header = f"# Space build, sdk {plan.sdk} {plan.sdk_version}, Python {plan.python_version}\n"
    return f"{header}{render_deps_stage(plan)}\n{render_app_stage(plan)}"


def venv_spec(plan: BuildPlan) -> VenvSpec:
    """What to install into a venv for the local-process runtime (``uv venv`` + ``uv pip install``)."""
    return VenvSpec(
        python_version=plan.python_version,
        packages=(sdk_requirement(plan), *RUNTIME_EXTRAS.get(plan.sdk, ())),
        overrides=(sdk_requirement(plan),),
        requirements=plan.requirements,
        pre_requirements=plan.pre_requirements,
        deps_key=plan.deps_key,
    )
