"""One build, start to end: export the commit, read its configuration, plan, build with the engine.

The outcome says what the Space's stage becomes when it fails (``CONFIG_ERROR``, ``NO_APP_FILE``,
``BUILD_ERROR``) with the message the user needs; every step writes to the build log as it goes.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from dataclasses import dataclass, field
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
    }
    return {**{k: v for k, v in known.items() if k in config.key_lines}, **config.extra}


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
        self, *, owner: str, name: str, sha: str, log: LogWriter, no_cache: bool = False
    ) -> BuildOutcome:
        started = time.monotonic()
        log.write(f"===== Build of {owner}/{name} at commit {sha[:12]} =====")
        app_dir = await asyncio.to_thread(self._export, owner, name, sha)
        files = DirectoryFiles(app_dir)
        try:
            plan = plan_build(files, self.options)
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
        try:
            artifact = await self.engine.build(
                plan=plan,
                app_dir=app_dir,
                image_repository=image_repository(owner, name),
                sha=sha,
                log=log,
                no_cache=no_cache,
            )
        except BuildError as exc:
            log.write(f"BUILD_ERROR: {exc.message}")
            return BuildOutcome(None, Stage.BUILD_ERROR, exc.message, plan, warnings, card_data)
        log.write(f"===== Build succeeded in {time.monotonic() - started:.1f} s =====")
        return BuildOutcome(artifact, None, None, plan, warnings, card_data)

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
