"""The docker SDK: the repo's own ``Dockerfile``, built as it is and run on ``app_port``.

Owns checking that the Dockerfile exists, reading which build-time secrets it mounts
(``RUN --mount=type=secret,id=NAME``) and planning the build; the orchestrator passes the Space's
variables as build arguments and the named secrets to the build.
"""

from __future__ import annotations

import hashlib
import re

from builders.base import DEFAULT_STARTUP_TIMEOUT, Builder, BuildOptions, BuildPlan
from builders.config import DEFAULT_APP_FILE, SpaceConfig
from builders.errors import NoAppFileError
from builders.files import RepoFiles

DOCKERFILE = "Dockerfile"
_SECRET_MOUNT = re.compile(r"--mount=(?=[^\s]*type=secret)[^\s]*?\bid=([A-Za-z0-9_.\-]+)")


def secret_ids(dockerfile: str) -> tuple[str, ...]:
    """Ids of the BuildKit secrets the Dockerfile mounts, in order, without repeats."""
    return tuple(dict.fromkeys(_SECRET_MOUNT.findall(dockerfile)))


class DockerBuilder(Builder):
    sdk = "docker"

    def detect(self, files: RepoFiles, app_file: str = DEFAULT_APP_FILE) -> bool:
        return files.exists(DOCKERFILE)

    def plan(self, config: SpaceConfig, files: RepoFiles, *, options: BuildOptions) -> BuildPlan:
        dockerfile = files.read_text(DOCKERFILE)
        if dockerfile is None:
            raise NoAppFileError(
                "sdk: docker builds the repo's Dockerfile, but there is no Dockerfile at the repo's root; "
                "add one, or set sdk to gradio, streamlit or static",
                line=config.line_of("sdk"),
            )
        secrets = secret_ids(dockerfile)
        notes = [
            f"building {DOCKERFILE} as it is; the app must listen on port {config.app_port} (app_port)",
            "the Space's variables are passed as build arguments",
        ]
        if secrets:
            notes.append(f"build-time secrets mounted by the Dockerfile: {', '.join(secrets)}")
        for key in ("sdk_version", "python_version"):
            if config.line_of(key) is not None:
                notes.append(f"{key} is ignored for a docker Space: the Dockerfile decides")
        return BuildPlan(
            sdk=self.sdk,
            sdk_version="",
            python_version="",
            base_image="",
            sdk_base_recipe=None,
            requirements=None,
            pre_requirements=None,
            apt_packages=(),
            app_file=DOCKERFILE,
            port=config.app_port,
            env={},
            preload=(),
            deps_key=hashlib.sha256(dockerfile.encode()).hexdigest(),
            notes=tuple(notes),
            startup_timeout=config.startup_duration_timeout or DEFAULT_STARTUP_TIMEOUT,
            config=config,
            kind="docker",
            build_secrets=secrets,
        )
