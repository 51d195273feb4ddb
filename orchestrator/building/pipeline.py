"""One build, start to end: export the commit, read its configuration, plan, build with the engine.

The outcome says what the Space's stage becomes when it fails (``CONFIG_ERROR``, ``NO_APP_FILE``,
``BUILD_ERROR``) with the message the user needs; every step writes to the build log as it goes.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from builders import plan_build
from builders.base import BuildOptions, BuildPlan
from builders.config import SpaceConfig
from builders.errors import ConfigError, NoAppFileError
from builders.files import DirectoryFiles
from orchestrator.building.engines import BuildEngine
from orchestrator.building.errors import BuildError
from orchestrator.gitserver.repos import RepoStore
from orchestrator.logs import LogWriter
from orchestrator.naming import image_repository
from orchestrator.runtimes.base import Artifact
from orchestrator.stages import Stage


@dataclass
class BuildOutcome:
    artifact: Artifact | None
    failure_stage: Stage | None = None
    message: str | None = None
    plan: BuildPlan | None = None
    warnings: list[str] = field(default_factory=list)
    card_data: dict[str, Any] = field(default_factory=dict)


def card_data_of(config: SpaceConfig) -> dict[str, Any]:
    """The front matter as the Hub's ``cardData``: the keys the author wrote, as parsed."""
    known = {
        "title": config.title,
        "sdk": config.sdk,
        "sdk_version": config.sdk_version,
        "python_version": config.python_version,
        "app_file": config.app_file,
        "app_port": config.app_port,
        "startup_duration_timeout": config.startup_duration_timeout,
        "custom_headers": config.custom_headers,
        "disable_embedding": config.disable_embedding,
        "base_path": config.base_path,
    }
    return {**{k: v for k, v in known.items() if k in config.key_lines}, **config.extra}


def plan_record(plan: BuildPlan) -> dict[str, Any]:
    """What the reconciler keeps of a plan (``Build.plan``) to start the build's artifact later."""
    return {
        "kind": plan.kind,
        "app_file": plan.app_file,
        "env": dict(plan.env),
        "preload": list(plan.preload),
        "port": plan.port,
        "startup_timeout": plan.startup_timeout,
        "title": plan.config.title,
        "module": plan.module,
        "module_args": list(plan.module_args),
        "custom_headers": dict(plan.config.custom_headers),
        "disable_embedding": plan.config.disable_embedding,
    }


def launch_options(record: dict[str, Any]) -> dict[str, Any]:
    """``LaunchSpec`` fields that depend on the plan's kind, from a ``plan_record``."""
    return {
        "module": record.get("module"),
        "module_args": tuple(record.get("module_args") or ()),
        # A docker Space runs as the user its image names; SDK images run as the Hub's uid 1000.
        "user": None if record.get("kind") == "docker" else "1000",
    }


class BuildPipeline:
    def __init__(
        self, *, repos: RepoStore, engine: BuildEngine, work_dir: Path, options: BuildOptions
    ) -> None:
        self.repos = repos
        self.engine = engine
        self.work_dir = work_dir
        self.options = options

    def app_dir(self, owner: str, name: str, sha: str) -> Path:
        return self.work_dir / owner / name / sha

    async def run(
        self,
        *,
        owner: str,
        name: str,
        sha: str,
        log: LogWriter,
        no_cache: bool = False,
        variables: dict[str, str] | None = None,
        secrets: dict[str, str] | None = None,
    ) -> BuildOutcome:
        started = time.monotonic()
        log.write(f"===== Build of {owner}/{name} at commit {sha[:12]} =====")
        app_dir = await asyncio.to_thread(self._export, owner, name, sha)
        files = DirectoryFiles(app_dir)
        try:
            plan = plan_build(files, await self._options())
        except NoAppFileError as exc:
            log.write(f"NO_APP_FILE: {exc}")
            return BuildOutcome(None, Stage.NO_APP_FILE, str(exc))
        except ConfigError as exc:
            log.write(f"CONFIG_ERROR: {exc}")
            return BuildOutcome(None, Stage.CONFIG_ERROR, str(exc))
        card_data = card_data_of(plan.config)
        warnings = list(plan.config.warnings)
        for note in plan.notes:
            log.write(note)
        for warning in warnings:
            log.write(f"WARNING: {warning}")
        for entry in plan.preload_from_hub:
            log.write(
                f"preload_from_hub: {entry!r} recorded; not downloaded (this server does not reach the "
                "Hugging Face Hub; the app downloads it at run time if it needs it)"
            )
        try:
            artifact = await self.engine.build(
                plan=plan,
                app_dir=app_dir,
                image_repository=image_repository(owner, name),
                sha=sha,
                log=log,
                no_cache=no_cache,
                build_args=variables,
                secrets=secrets,
            )
        except ConfigError as exc:
            log.write(f"CONFIG_ERROR: {exc}")
            return BuildOutcome(None, Stage.CONFIG_ERROR, str(exc), plan, warnings, card_data)
        except BuildError as exc:
            log.write(f"BUILD_ERROR: {exc.message}")
            return BuildOutcome(None, Stage.BUILD_ERROR, exc.message, plan, warnings, card_data)
        log.write(f"===== Build succeeded in {time.monotonic() - started:.1f} s =====")
        return BuildOutcome(artifact, None, None, plan, warnings, card_data)

    async def _options(self) -> BuildOptions:
        """The build options, with the Python versions the engine has now (base images built since the
        server started count), or the configured ones when the engine cannot tell."""
        pythons = await self.engine.pythons()
        return replace(self.options, available_pythons=pythons) if pythons else self.options

    def _export(self, owner: str, name: str, sha: str) -> Path:
        target = self.app_dir(owner, name, sha)
        if target.exists():
            return target
        staging = target.with_name(f".{sha}-{uuid.uuid4().hex[:8]}")
        staging.mkdir(parents=True)
        try:
            self.repos.export(owner, name, sha, staging)
            staging.rename(target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return target
