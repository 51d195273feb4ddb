"""Container images for the container runtime, built through the Docker Engine API (Docker or Podman).

Each commit gets two tags from one multi-stage recipe: ``deps-<key>`` (system packages and Python
dependencies, no app files: warm standbys start from it) and ``<sha>`` (everything). The dependency layers
come from the engine's layer cache when only app files changed, and package downloads from a cache mount
shared by every build. The SDK base image (gradio or streamlit at a version) is built once from
``runtime-images/``. A docker Space's own Dockerfile is built as it is (the Space's variables as build
arguments, its secrets as BuildKit secrets); a static Space's ``app_build_command`` runs in its builder
container (``static_image.py``) and its output folder is copied back to the control plane, which serves it.
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
import docker.utils

from builders.base import BuildPlan
from builders.recipe import context_files, render_app_stage, render_containerfile
from orchestrator.building.engines import BuildEngine
from orchestrator.building.errors import BuildError
from orchestrator.building.pythons import installed_pythons
from orchestrator.building.static import static_artifact
from orchestrator.building.static_image import StaticBuilds
from orchestrator.logs import LogWriter
from orchestrator.runtimes.base import Artifact
from orchestrator.runtimes.engine import image_exists

CONTAINERFILE_NAME = ".spaces/Containerfile"
APP_CONTAINERFILE = ".spaces/Containerfile.app"
SECRET_PREFIX = ".spaces-secret-"
"""Build-time secrets are files ``<prefix><id>`` at the context's root: Podman moves each one out of the
context (into its parent folder, so it must be at the root) before the build runs."""


class ImageEngine(BuildEngine):
    def __init__(
        self,
        *,
        client: docker.DockerClient,
        runtime_images_dir: Path,
        base_image_prefix: str = "localhost/spaces",
    ) -> None:
        self.client = client
        self.runtime_images_dir = runtime_images_dir
        self.base_image_prefix = base_image_prefix
        self._base_lock = asyncio.Lock()
        self.static_builds = StaticBuilds(
            client,
            lambda context, tag, log, no_cache: self._build(
                context, tag, None, log, no_cache, dockerfile="Containerfile"
            ),
        )

    async def pythons(self) -> tuple[str, ...] | None:
        """The versions with a ``<prefix>/python:<version>`` image; ``None`` when there is none (or the
        engine does not answer: the build then says what is missing)."""
        try:
            found = await asyncio.to_thread(installed_pythons, self.client, self.base_image_prefix)
        except (docker.errors.DockerException, OSError):
            return None
        return found or None

    async def build(
        self,
        *,
        plan: BuildPlan,
        app_dir: Path,
        image_repository: str,
        sha: str,
        log: LogWriter,
        no_cache: bool = False,
        build_args: dict[str, str] | None = None,
        secrets: dict[str, str] | None = None,
    ) -> Artifact:
        if plan.kind == "docker":
            return await asyncio.to_thread(
                self._build_dockerfile,
                plan,
                app_dir,
                f"{image_repository}:{sha[:12]}",
                log,
                no_cache,
                build_args or {},
                secrets or {},
            )
        if plan.kind == "static":
            if plan.build_command is None:
                return static_artifact(plan, app_dir, app_dir)
            async with self._base_lock:
                await asyncio.to_thread(self._ensure_node_image, plan, log)
            return await asyncio.to_thread(
                self.static_builds.build, plan, app_dir, image_repository, log, no_cache
            )
        async with self._base_lock:
            await asyncio.to_thread(self._ensure_base_image, plan, log)
        deps_tag = f"{image_repository}:deps-{plan.deps_key[:16]}"
        app_tag = f"{image_repository}:{sha[:12]}"
        context = Path(tempfile.mkdtemp(prefix="spaces-build-"))
        try:
            await asyncio.to_thread(self._prepare_context, plan, app_dir, context, deps_tag)
            # The tag is named by everything the dependency stage depends on: if it exists, it is current.
            if not no_cache and await asyncio.to_thread(self._image_exists, deps_tag):
                log.write(f"Dependencies unchanged: reusing {deps_tag}")
            else:
                log.write(f"Building dependency layers ({deps_tag})")
                await asyncio.to_thread(self._build, context, deps_tag, "deps", log, no_cache)
            log.write(f"Building app image ({app_tag})")
            await asyncio.to_thread(
                self._build, context, app_tag, None, log, False, dockerfile=APP_CONTAINERFILE
            )
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
        self.static_builds.discard(image_repository)
        for image in self.client.images.list(name=image_repository):
            for tag in image.tags:
                if tag.startswith(image_repository + ":"):
                    with contextlib.suppress(docker.errors.APIError):
                        self.client.images.remove(tag, noprune=False)

    def _prepare_context(self, plan: BuildPlan, app_dir: Path, context: Path, deps_tag: str) -> None:
        shutil.copytree(app_dir, context, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
        for relative, content in context_files(plan).items():
            path = context / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        (context / CONTAINERFILE_NAME).parent.mkdir(parents=True, exist_ok=True)
        (context / CONTAINERFILE_NAME).write_text(render_containerfile(plan))
        # The app image starts from the dependency image itself, so its build never revisits those layers.
        (context / APP_CONTAINERFILE).write_text(f"FROM {deps_tag} AS deps\n" + render_app_stage(plan))

    def _image_exists(self, tag: str) -> bool:
        return image_exists(self.client, tag)

    def _build_dockerfile(
        self,
        plan: BuildPlan,
        app_dir: Path,
        tag: str,
        log: LogWriter,
        no_cache: bool,
        build_args: dict[str, str],
        secrets: dict[str, str],
    ) -> Artifact:
        """Build the repo's own Dockerfile, as it is, with the Space's variables and secrets."""
        missing = [name for name in plan.build_secrets if name not in secrets]
        if missing:
            raise BuildError(
                f"The Dockerfile mounts the build secret(s) {', '.join(missing)}, which this Space does not "
                "have; add them in the Space's settings (secrets) and build again."
            )
        context = Path(tempfile.mkdtemp(prefix="spaces-build-"))
        try:
            shutil.copytree(app_dir, context, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
            specs = []
            for name in plan.build_secrets:
                path = context / f"{SECRET_PREFIX}{name}"
                path.write_text(secrets[name])
                specs.append(f"id={name},src={path.name}")
            log.write(f"Building the Space's Dockerfile ({tag})")
            if build_args:
                log.write(f"Build arguments (the Space's variables): {', '.join(sorted(build_args))}")
            self._build(
                context,
                tag,
                None,
                log,
                no_cache,
                buildargs=build_args,
                dockerfile=plan.dockerfile,
                secrets=specs,
            )
        finally:
            shutil.rmtree(context, ignore_errors=True)
        return Artifact(
            kind="image", reference=tag, deps_reference="", deps_key=plan.deps_key, app_dir=str(app_dir)
        )

    def _ensure_node_image(self, plan: BuildPlan, log: LogWriter) -> None:
        if self._image_exists(plan.base_image):
            return
        python_base = plan.base_image.rsplit("/", 1)[0] + "/python:3.11"
        if not self._image_exists(python_base):
            raise BuildError(
                f"The runtime base image {python_base} is missing on this server. An admin builds it with"
                " `runtime-images/build.sh` (`make install` runs it)."
            )
        log.write(f"Building the Node.js image {plan.base_image} (once)")
        self._build(
            self.runtime_images_dir / "node",
            plan.base_image,
            None,
            log,
            False,
            buildargs={"BASE": python_base},
            dockerfile="Containerfile",
        )

    def _ensure_base_image(self, plan: BuildPlan, log: LogWriter) -> None:
        if self._image_exists(plan.base_image):
            return
        if plan.sdk_base_recipe is None:
            raise BuildError(f"No recipe for the base image {plan.base_image}.")
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
        secrets: list[str] | None = None,
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
            chunks = self._build_with_secrets(kwargs, secrets) if secrets else self.client.api.build(**kwargs)
            for line in self._stream(chunks):
                log.write(line)
        except docker.errors.APIError as exc:
            raise BuildError(f"The container engine refused the build: {exc.explanation or exc}") from exc
        if not self._image_exists(tag):
            raise BuildError(f"Building {tag} failed; see the build log above.")

    def _build_with_secrets(self, kwargs: dict[str, Any], secrets: list[str]) -> Iterator[dict[str, Any]]:
        """``POST /build`` with Podman's ``secrets`` parameter, which the docker SDK cannot send.

        Each secret is ``id=NAME,src=PATH`` with PATH inside the build context; Podman moves the file out
        of the context before building, so it never lands in a layer. Docker's API has no such parameter
        (BuildKit takes secrets over a session), so there the build fails and says so.
        """
        api = self.client.api
        context = docker.utils.tar(kwargs["path"], dockerfile=(kwargs["dockerfile"], None))
        params = {
            "t": kwargs["tag"],
            "dockerfile": kwargs["dockerfile"],
            "rm": True,
            "forcerm": True,
            "nocache": kwargs["nocache"],
            "networkmode": "host",
            "buildargs": json.dumps(kwargs["buildargs"]),
            "secrets": json.dumps(secrets),
        }
        response = api._post(
            api._url("/build"),
            data=context,
            params=params,
            headers={"Content-Type": "application/tar"},
            stream=True,
            timeout=None,
        )
        api._raise_for_status(response)
        chunks: Iterator[dict[str, Any]] = api._stream_helper(response, decode=True)
        return chunks

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
