"""Virtual environments for the local-process runtime, built with ``uv`` and shared between Spaces.

An environment is named by the plan's ``deps_key`` (SDK version, Python, requirements): every Space and
commit with the same dependencies uses the same folder, so an app-only change builds nothing. Environments
are built in a temporary folder and renamed into place when complete, so a crash never leaves a half-built
one that looks finished. A rebuild without cache (a factory reboot) builds the same way and swaps the new
folder in only when it is complete: the Spaces running on the old one (every Space with the same
dependencies) keep their files meanwhile, and the old folder is removed after the swap.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

import uv

from builders.base import BuildPlan
from builders.errors import ConfigError
from builders.recipe import VenvSpec, venv_spec
from orchestrator.building.engines import BuildEngine
from orchestrator.building.errors import BuildError
from orchestrator.building.process_output import run_logged
from orchestrator.building.static import build_on_host
from orchestrator.logs import LogWriter
from orchestrator.runtimes.base import Artifact

_COMPLETE_MARKER = ".spaces-complete"


class VenvEngine(BuildEngine):
    def __init__(self, *, envs_dir: Path) -> None:
        self.envs_dir = envs_dir
        self._uv = uv.find_uv_bin()
        self._locks: dict[str, asyncio.Lock] = {}

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
            raise ConfigError(
                "sdk: docker needs the container runtime; this server runs Spaces as local processes "
                "(an admin can set SPACES_RUNTIME=container where Podman or Docker is installed)",
                line=plan.config.line_of("sdk"),
            )
        if plan.kind == "static":
            return await build_on_host(plan, app_dir, log)
        spec = venv_spec(plan)
        target = self.envs_dir / spec.deps_key[:24]
        async with self._locks.setdefault(spec.deps_key, asyncio.Lock()):
            if not no_cache and (target / _COMPLETE_MARKER).exists():
                log.write(f"Dependencies unchanged: reusing environment {target.name}")
            else:
                await self._create(spec, target, log, no_cache=no_cache)
        return Artifact(
            kind="venv",
            reference=str(target),
            deps_reference=str(target),
            deps_key=plan.deps_key,
            app_dir=str(app_dir),
        )

    async def _create(self, spec: VenvSpec, target: Path, log: LogWriter, *, no_cache: bool) -> None:
        python = spec.python_version
        self.envs_dir.mkdir(parents=True, exist_ok=True)
        staging = self.envs_dir / f".building-{target.name}-{uuid.uuid4().hex[:8]}"
        env = {"UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": str(staging)}
        cache = ["--no-cache"] if no_cache else []
        try:
            log.write(f"Creating a Python {python} environment")
            try:
                await run_logged(
                    [self._uv, "venv", "--relocatable", "--python", python, str(staging)],
                    log=log,
                    env=env,
                    what=f"Creating a Python {python} environment",
                )
            except BuildError as exc:
                raise BuildError(f"Python {python} is not available on this server ({exc.message})") from exc
            pip = [
                self._uv,
                "pip",
                "install",
                "--compile-bytecode",
                *cache,
                "--python",
                str(staging / "bin" / "python"),
            ]
            if spec.pre_requirements:
                path = staging / "pre-requirements.txt"
                path.write_text(spec.pre_requirements)
                log.write("Installing pre-requirements.txt")
                await run_logged(
                    [*pip, "-r", str(path)], log=log, env=env, what="Installing pre-requirements.txt"
                )
            extra: list[str] = []
            if spec.requirements:
                path = staging / "requirements.txt"
                path.write_text(spec.requirements)
                extra = ["-r", str(path)]
            if spec.overrides:
                path = staging / "sdk-overrides.txt"
                path.write_text("\n".join(spec.overrides) + "\n")
                extra += ["--override", str(path)]
            log.write(
                "Installing "
                + " ".join([*spec.packages, *(["requirements.txt"] if spec.requirements else [])])
            )
            what = "Installing requirements.txt" if spec.requirements else "Installing the SDK"
            await run_logged([*pip, *spec.packages, *extra], log=log, env=env, what=what)
            (staging / _COMPLETE_MARKER).touch()
            await self._swap_in(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    async def _swap_in(self, staging: Path, target: Path) -> None:
        """Rename ``staging`` to ``target``; an existing ``target`` is moved aside first and removed
        after, so the folder is missing only between two renames."""
        if not target.exists():
            staging.rename(target)
            return
        old = self.envs_dir / f".old-{target.name}-{uuid.uuid4().hex[:8]}"
        target.rename(old)
        staging.rename(target)
        await asyncio.to_thread(shutil.rmtree, old, True)
