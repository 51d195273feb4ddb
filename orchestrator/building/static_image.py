"""Static Spaces on a container engine: ``app_build_command`` run in a Space's Node.js builder container.

Owns three things. The dependency image ``<prefix>/npm:<key>``: the Node.js image with the packages of
package.json installed in ``/app/node_modules``, built once per content of the npm files (``deps_key``)
and shared by every Space with the same files, like the SDK base images. The Space's builder container,
``spaces-build-<subdomain>``: started from that image, idle between builds (``sleep``), replaced when the
dependency image changes. And each build in it: the commit's files replace the previous commit's in
``/app`` (``node_modules`` stays), the command runs with ``exec`` (its output streamed to the build log
line by line) and the output folder is copied back to the control plane, which serves it. An app-only
push thus pays for the build command alone: no image build, no container start, no reinstall. Files the
command writes outside ``/app`` or inside ``node_modules`` (tool caches) persist from one build to the
next, as in a developer's checkout; after a failed build the container is replaced. It must not serve
files or know about runtimes.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import shutil
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from builders.base import BuildPlan
from builders.static import NPM_FILES, render_npm_install
from orchestrator.building.errors import BuildError
from orchestrator.building.static import build_dir, static_artifact
from orchestrator.logs import LogWriter
from orchestrator.runtimes.base import Artifact
from orchestrator.runtimes.engine import image_exists

BUILDER_LABEL = "spaces.static-builder"
"""On a builder container: the image repository of the Space it builds."""
IMAGE_LABEL = "spaces.static-builder.image"
"""On a builder container: the id of the image it was started from."""
_CLEAN_SOURCES = "find /app -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +"
_LEFT_OUT = (".git", "node_modules")
"""Top-level entries of the commit not copied into the builder: history, and packages npm installs."""

ImageBuild = Callable[[Path, str, LogWriter, bool], None]
"""Builds the context folder into a tag, streaming to the log (``ImageEngine``'s build)."""


def npm_image(plan: BuildPlan) -> str:
    """``localhost/spaces/npm:<key>`` beside the Node.js image; no Space's repository is named ``npm``
    (theirs are ``<owner>-<name>``), so deleting a Space never removes it."""
    return f"{plan.base_image.rsplit('/', 1)[0]}/npm:{plan.deps_key[:16]}"


def builder_name(image_repository: str) -> str:
    """``localhost/spaces/alice-site`` → ``spaces-build-alice-site``."""
    return "spaces-build-" + image_repository.rsplit("/", 1)[-1]


def source_archive(app_dir: Path) -> bytes:
    """The commit's files as a tar owned by root, without ``.git`` and ``node_modules`` at the top."""
    buffer = io.BytesIO()

    def owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if info.name.split("/", 1)[0] in _LEFT_OUT:
            return None
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for entry in sorted(app_dir.iterdir()):
            tar.add(entry, arcname=entry.name, filter=owned_by_root)
    return buffer.getvalue()


def split_lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """Decode a byte stream into its non-blank lines as they complete (the last one at the end)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        *lines, pending = pending.split("\n")
        yield from (line.rstrip("\r") for line in lines if line.strip())
    pending += decoder.decode(b"", final=True)
    if pending.strip():
        yield pending.rstrip("\r")


class StaticBuilds:
    """Runs static Spaces' build commands; one build at a time per Space."""

    def __init__(self, client: docker.DockerClient, build_image: ImageBuild) -> None:
        self.client = client
        self.build_image = build_image
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def build(
        self, plan: BuildPlan, app_dir: Path, image_repository: str, log: LogWriter, no_cache: bool
    ) -> Artifact:
        """Run ``plan.build_command`` on ``app_dir``'s files and copy the output folder beside it."""
        command = plan.build_command
        if command is None:
            raise ValueError("StaticBuilds.build needs a plan with a build_command")
        with self._lock(image_repository):
            image = self._dependency_image(plan, app_dir, log, no_cache)
            try:
                builder = self._builder(image_repository, image, log)
                try:
                    return self._run(builder, command, plan, app_dir, log)
                except BaseException:
                    # A failed command may have left node_modules half-changed (an interrupted npm ci):
                    # the next build starts from the dependency image again.
                    with contextlib.suppress(docker.errors.APIError):
                        builder.remove(force=True)
                    raise
            except docker.errors.APIError as exc:
                raise BuildError(
                    f"The container engine failed while running app_build_command: {exc.explanation or exc}"
                ) from exc

    def _run(
        self, builder: Container, command: str, plan: BuildPlan, app_dir: Path, log: LogWriter
    ) -> Artifact:
        if self._exec(builder, _CLEAN_SOURCES, log=log) != 0:
            raise BuildError("Could not remove the previous build's files from the builder container.")
        if (app_dir / "node_modules").exists():
            log.write("The repo's node_modules/ is left out: packages come from package.json")
        builder.put_archive("/app", source_archive(app_dir))
        log.write(f"Running app_build_command: {command}")
        started = time.monotonic()
        status = self._exec(builder, command, log=log)
        if status != 0:
            raise BuildError(
                f"app_build_command `{command}` failed with exit status {status}; "
                "its output is in the build log."
            )
        log.write(f"app_build_command finished in {time.monotonic() - started:.1f} s")
        return self._copy_output(builder, plan, app_dir, log)

    def discard(self, image_repository: str) -> None:
        """Remove the Space's builder container (before its images can be removed)."""
        found = self.client.containers.list(
            all=True, filters={"label": f"{BUILDER_LABEL}={image_repository}"}
        )
        for container in found:
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True)

    def _lock(self, image_repository: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(image_repository, threading.Lock())

    def _dependency_image(self, plan: BuildPlan, app_dir: Path, log: LogWriter, no_cache: bool) -> str:
        present = tuple(name for name in NPM_FILES if (app_dir / name).is_file())
        if "package.json" not in present:
            log.write(f"No package.json: no packages to install; building on {plan.base_image}")
            return plan.base_image
        tag = npm_image(plan)
        if not no_cache and image_exists(self.client, tag):
            log.write(f"Dependencies unchanged ({', '.join(present)}): reusing {tag}")
            return tag
        log.write(f"Installing the packages of package.json ({tag})")
        with tempfile.TemporaryDirectory(prefix="spaces-build-") as folder:
            context = Path(folder)
            for name in present:
                (context / name).write_bytes((app_dir / name).read_bytes())
            (context / "Containerfile").write_text(render_npm_install(plan.base_image, present))
            try:
                self.build_image(context, tag, log, no_cache)
            except BuildError as exc:
                raise BuildError(
                    f"Installing the packages of package.json for app_build_command failed: {exc.message}"
                ) from exc
        return tag

    def _builder(self, image_repository: str, image: str, log: LogWriter) -> Container:
        """The Space's running builder container, started from ``image`` (replacing an older one)."""
        image_id = str(self.client.images.get(image).id)
        name = builder_name(image_repository)
        try:
            container: Container | None = self.client.containers.get(name)
        except docker.errors.NotFound:
            container = None
        if container is not None and container.labels.get(IMAGE_LABEL) != image_id:
            container.remove(force=True)
            container = None
        if container is None:
            log.write(f"Starting the builder container {name} from {image}")
            created: Container = self.client.containers.run(
                image,
                command=["sleep", "infinity"],
                name=name,
                detach=True,
                network_mode="host",
                working_dir="/app",
                labels={BUILDER_LABEL: image_repository, IMAGE_LABEL: image_id},
            )
            return created
        if container.status != "running":
            container.start()
        return container

    def _exec(self, container: Container, command: str, *, log: LogWriter) -> int:
        """Run ``sh -c command`` in ``/app``, its output to ``log`` line by line; its exit status."""
        api = self.client.api
        exec_id = api.exec_create(container.id, ["sh", "-c", command], workdir="/app")["Id"]
        output: Iterator[bytes] = api.exec_start(exec_id, stream=True)
        for line in split_lines(output):
            log.write(line)
        return self._exit_status(exec_id)

    def _exit_status(self, exec_id: str) -> int:
        # The stream can end a moment before the engine records the exit status.
        deadline = time.monotonic() + 10
        while True:
            state: dict[str, Any] = self.client.api.exec_inspect(exec_id)
            if not state.get("Running") and state.get("ExitCode") is not None:
                return int(state["ExitCode"])
            if time.monotonic() > deadline:
                raise BuildError("The container engine did not report how app_build_command ended.")
            time.sleep(0.02)

    def _copy_output(self, container: Container, plan: BuildPlan, app_dir: Path, log: LogWriter) -> Artifact:
        source = "/app/" + plan.static_dir if plan.static_dir else "/app"
        try:
            chunks, _stat = container.get_archive(source)
        except docker.errors.NotFound as exc:
            raise BuildError(
                f"`{plan.build_command}` did not create {plan.static_dir or '.'}/; app_file "
                f"({plan.app_file}) must name the page the build writes."
            ) from exc
        archive = io.BytesIO(b"".join(chunks))
        output = build_dir(app_dir)
        shutil.rmtree(output, ignore_errors=True)
        output.mkdir(parents=True)
        with tarfile.open(fileobj=archive) as tar:
            tar.extractall(output, filter="data")
        # The archive holds the folder itself (dist/...); serve its content from output/<static_dir>.
        root = output / (Path(source).name if plan.static_dir else "app")
        if plan.static_dir:
            final = output / plan.static_dir
            final.parent.mkdir(parents=True, exist_ok=True)
            if root != final:
                root.rename(final)
            root = output
        log.write(f"Copied the build output ({plan.static_dir or '.'}/) to the server")
        return static_artifact(plan, root, app_dir)
