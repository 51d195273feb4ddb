"""The build of the commit a Space wants: reuse a finished one, respect a failed one, or run one now.

A build row is written before the pipeline runs (so a restart finds it ``running`` and marks it
``interrupted``) and completed after, with the plan record instances need and the artifact to start.
A failure becomes the Space's stage with the message the user needs; the previous version keeps serving.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.building.pipeline import BuildOutcome, BuildPipeline, plan_record
from orchestrator.control.environment import setting_values
from orchestrator.logs import LogWriter
from orchestrator.settings import Settings
from orchestrator.stages import Stage
from orchestrator.state.models import Build, Space, utcnow

_FAILED_STATUS = {Stage.CONFIG_ERROR: "config_error", Stage.NO_APP_FILE: "no_app_file"}


class Builds:
    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        pipeline: BuildPipeline,
        runtime_name: str,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.pipeline = pipeline
        self.runtime_name = runtime_name

    async def ensure(self, space_pk: str, sha: str, generation: int, *, has_serving: bool) -> Build | None:
        """A succeeded build of ``sha`` to start, or ``None`` when there is none (the stage says why)."""
        with self.sessions() as session:
            space = session.get(Space, space_pk)
            if space is None:
                return None
            latest = session.scalars(
                select(Build)
                .where(
                    Build.space_id == space_pk,
                    Build.sha == sha,
                    Build.runtime == self.runtime_name,
                    Build.status != "interrupted",
                )
                .order_by(Build.id.desc())
            ).first()
            factory = bool(space.settings.get("factory_reboot_generation") == generation)
            if latest is not None and not (factory and latest.generation != generation):
                if latest.status == "succeeded":
                    return latest
                if latest.generation == generation:
                    return None  # it failed for this commit; the stage already says why
            build = Build(space_id=space_pk, sha=sha, generation=generation, runtime=self.runtime_name)
            session.add(build)
            session.flush()
            build.log_path = str(self.settings.logs_dir / space.owner / space.name / f"build-{build.id}.log")
            space.stage = Stage.RUNNING_BUILDING if has_serving else Stage.BUILDING
            space.building_sha = sha
            space.error_message = None
            session.commit()
            owner, name, build_id, log_path = space.owner, space.name, build.id, build.log_path
            variables = setting_values(space.settings, "variables")
            secrets = setting_values(space.settings, "secrets")
        with LogWriter(Path(log_path)) as writer:
            outcome = await self.pipeline.run(
                owner=owner,
                name=name,
                sha=sha,
                log=writer,
                no_cache=factory,
                variables=variables,
                secrets=secrets,
            )
        return self._record(space_pk, build_id, outcome)

    def _record(self, space_pk: str, build_id: int, outcome: BuildOutcome) -> Build | None:
        with self.sessions() as session:
            build = session.get_one(Build, build_id)
            space = session.get(Space, space_pk)
            build.finished_at = utcnow()
            if outcome.plan is not None:
                build.plan = plan_record(outcome.plan)
            if space is not None:
                space.warnings = outcome.warnings
                if outcome.card_data:
                    space.card_data = outcome.card_data
            if outcome.artifact is None:
                failure = outcome.failure_stage or Stage.BUILD_ERROR
                build.status = _FAILED_STATUS.get(failure, "failed")
                build.error_message = outcome.message
                if space is not None:
                    space.stage = failure
                    space.error_message = outcome.message
                    space.building_sha = None
                session.commit()
                return None
            build.status = "succeeded"
            build.artifact = vars(outcome.artifact)
            session.commit()
            return build
