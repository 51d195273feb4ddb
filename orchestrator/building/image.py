"""Container images for the container runtime, built through the Docker Engine API (Docker or Podman).

Each commit gets two tags from one multi-stage recipe: ``deps-<key>`` (system packages and Python
dependencies, no app files: warm standbys start from it) and ``<sha>`` (everything). The dependency layers
come from the engine's layer cache when only app files changed, and package downloads from a cache mount
shared by every build. The SDK base image (gradio at a version) is built once from ``runtime-images/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors

from builders.base import BuildPlan
from builders.recipe import context_files, render_containerfile
from orchestrator.building.engines import BuildEngine
from orchestrator.building.errors import BuildError
from orchestrator.logs import LogWriter
from orchestrator.runtimes.base import Artifact

CONTAINERFILE_NAME = ".spaces/Containerfile"


class ImageEngine(BuildEngine):
    def __init__(self, *, client: docker.DockerClient, runtime_images_dir: Path) -> None:
        self.client = client
        self.runtime_images_dir = runtime_images_dir
        self._base_lock = asyncio.Lock()

    async def build(
        self,
        *,
        plan: BuildPlan,
        app_dir: Path,
        image_repository: str,
        sha: str,
        log: LogWriter,
        no_cache: bool = False,
    ) -> Artifact:
        async with self._base_lock:
            await asyncio.to_thread(self._ensure_base_image, plan, log)
        deps_tag = f"{image_repository}:deps-{plan.deps_key[:16]}"
        app_tag = f"{image_repository}:{sha[:12]}"
        context = Path(tempfile.mkdtemp(prefix="spaces-build-"))
        try:
            await asyncio.to_thread(self._prepare_context, plan, app_dir, context)
            log.write(f"Building dependency layers ({deps_tag})")
            await asyncio.to_thread(self._build, context, deps_tag, "deps", log, no_cache)
            log.write(f"Building app image ({app_tag})")
            await asyncio.to_thread(self._build, context, app_tag, "app", log, False)
        finally:
            shutil.rmtree(context, ignore_errors=True)
        return Artifact(
            kind="image",
            reference=app_tag,
            deps_reference=deps_tag,
            deps_key=plan.deps_key,
            app_dir=str(app_dir),
        )

    async def discard(self, *, image_repository: str) -> None:
        await asyncio.to_thread(self._remove_repository, image_repository)

    def _remove_repository(self, image_repository: str) -> None:
        for image in self.client.images.list(name=image_repository):
            for tag in image.tags:
                if tag.startswith(image_repository + ":"):
                    with contextlib.suppress(docker.errors.APIError):
                        self.client.images.remove(tag, noprune=False)

    def _prepare_context(self, plan: BuildPlan, app_dir: Path, context: Path) -> None:
        shutil.copytree(app_dir, context, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
        for relative, content in context_files(plan).items():
            path = context / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        (context / CONTAINERFILE_NAME).parent.mkdir(parents=True, exist_ok=True)
        (context / CONTAINERFILE_NAME).write_text(render_containerfile(plan))

    def _image_exists(self, tag: str) -> bool:
        try:
            self.client.images.get(tag)
        except docker.errors.ImageNotFound:
            return False
        return True

    def _ensure_base_image(self, plan: BuildPlan, log: LogWriter) -> None:
        if self._image_exists(plan.base_image):
            return
        python_base = plan.sdk_base_recipe.python_image
        if not self._image_exists(python_base):
            raise BuildError(
                f"The runtime base image {python_base} is missing on this server. An admin builds it with"
                " `runtime-images/build.sh` (`make install` runs it)."
            )
        recipe_dir = self.runtime_images_dir / plan.sdk
        log.write(
            f"Building the {plan.sdk} {plan.sdk_version} base image {plan.base_image} (once per version)"
        )
        self._build(
            recipe_dir,
            plan.base_image,
            None,
            log,
            False,
            buildargs={"BASE": python_base, f"{plan.sdk.upper()}_VERSION": plan.sdk_version or ""},
            dockerfile="Containerfile",
        )

    def _build(
        self,
        context: Path,
        tag: str,
        target: str | None,
        log: LogWriter,
        no_cache: bool,
        *,
        buildargs: dict[str, str] | None = None,
        dockerfile: str = CONTAINERFILE_NAME,
    ) -> None:
        kwargs: dict[str, Any] = {
            "path": str(context),
            "dockerfile": dockerfile,
            "tag": tag,
            "network_mode": "host",
            "rm": True,
            "forcerm": True,
            "decode": True,
            "nocache": no_cache,
            "buildargs": buildargs or {},
        }
        if target:
            kwargs["target"] = target
        try:
            for line in self._stream(self.client.api.build(**kwargs)):
                log.write(line)
        except docker.errors.APIError as exc:
            raise BuildError(f"The container engine refused the build: {exc.explanation or exc}") from exc
        if not self._image_exists(tag):
            raise BuildError(f"Building {tag} failed; see the build log above.")

    @staticmethod
    def _stream(chunks: Iterator[dict[str, Any]]) -> Iterator[str]:
        for chunk in chunks:
            if "error" in chunk or "errorDetail" in chunk:
                detail = chunk.get("error") or json.dumps(chunk.get("errorDetail"))
                yield str(detail).rstrip()
                raise BuildError(f"Image build failed: {str(detail).strip().splitlines()[-1]}")
            text = chunk.get("stream")
            if text:
                for line in str(text).splitlines():
                    if line.strip():
                        yield line
