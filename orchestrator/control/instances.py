"""One instance of a Space, from the control plane's side: start it, see whether it answers, stop it.

Wraps the runtime with what the database knows (the ``Instance`` rows) and what the build decided (the
plan record): the launch spec with the Space's environment, the HTTP readiness check, the proxy route.
Static Spaces have instance rows too, served by the proxy itself, so nothing here calls the runtime for
them. Stages are not decided here; the reconciler does that from what these return.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.building.pipeline import launch_options
from orchestrator.control.environment import make_space_env, setting_values
from orchestrator.naming import subdomain
from orchestrator.proxy.headers import space_response_headers
from orchestrator.proxy.routes import Route
from orchestrator.runtimes.base import Artifact, Instance, InstanceState, InstanceStatus, LaunchSpec, Runtime
from orchestrator.runtimes.static import (
    STATIC_RUNTIME,
    is_static,
    static_instance,
    static_site,
    static_status,
)
from orchestrator.settings import Settings
from orchestrator.stages import Stage
from orchestrator.state.models import Build, Space, utcnow
from orchestrator.state.models import Instance as InstanceRow

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 25


def log_tail(path: str, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def instance_of(row: InstanceRow) -> Instance:
    return Instance(
        instance_id=row.id,
        space_id=row.space_id,
        handle=row.handle,
        host=row.host,
        port=row.port,
        log_path=row.log_path,
        deps_key=row.deps_key,
    )


def route_of(row: InstanceRow, space: Space, plan: dict[str, Any] | None = None, origin: str = "") -> Route:
    """The proxy's route to ``row``; ``plan`` (the build's) gives the response headers, ``origin`` the
    control plane's, which may frame the app even when the Space disables embedding."""
    plan = plan or {}
    static_root, index = static_site(row.handle) if row.runtime == STATIC_RUNTIME else (None, "index.html")
    return Route(
        instance_id=row.id,
        host=row.host,
        port=row.port,
        private_owner=space.owner if space.private else None,
        space=space.space_id,
        response_headers=space_response_headers(
            plan.get("custom_headers") or {}, bool(plan.get("disable_embedding")), origin
        ),
        static_root=static_root,
        index=index,
    )


class StartError(Exception):
    """The runtime refused to start an instance; the message says why."""


class Instances:
    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        runtime: Runtime,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.runtime = runtime
        self.clock = clock
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(2.0), trust_env=False)

    async def close(self) -> None:
        await self._http.aclose()

    async def status(self, row: InstanceRow) -> InstanceStatus:
        """The runtime's view of ``row``; a static Space's instance needs no runtime."""
        if row.runtime == STATIC_RUNTIME:
            return static_status(instance_of(row))
        return await self.runtime.status(instance_of(row))

    def route(self, session: Session, row: InstanceRow, space: Space) -> Route:
        build = session.get(Build, row.build_id)
        return route_of(row, space, build.plan if build else None, self.settings.effective_public_url)

    def launch_spec(self, space_pk: str, build: Build) -> LaunchSpec:
        with self.sessions() as session:
            space = session.get_one(Space, space_pk)
            sub = subdomain(space.owner, space.name)
            env = make_space_env(
                owner=space.owner,
                name=space.name,
                title=build.plan.get("title"),
                host=f"{sub}.{self.settings.domain}",
                creator_id=space.id,
                hardware=space.hardware,
                plan_env=build.plan.get("env", {}),
                variables=setting_values(space.settings, "variables"),
                secrets=setting_values(space.settings, "secrets"),
            )
            assert build.artifact is not None
            return LaunchSpec(
                space_id=space.space_id,
                artifact=Artifact(**build.artifact),
                app_file=build.plan.get("app_file", "app.py"),
                env=env,
                preload=tuple(build.plan.get("preload", ())),
                container_port=int(build.plan.get("port", 7860)),
                labels={"spaces.commit": build.sha},
                sdk_env=dict(build.plan.get("env", {})),
                **launch_options(build.plan),
            )

    def wanted_build(self, space_pk: str) -> Build | None:
        """The succeeded build of the commit the Space wants, on this runtime (``None``: none yet)."""
        with self.sessions() as session:
            space = session.get(Space, space_pk)
            if space is None or space.desired_sha is None:
                return None
            build = session.scalars(
                select(Build)
                .where(
                    Build.space_id == space_pk,
                    Build.sha == space.desired_sha,
                    Build.runtime == self.runtime.name,
                    Build.status == "succeeded",
                )
                .order_by(Build.id.desc())
            ).first()
            if build is not None:
                session.expunge(build)
            return build

    async def start(self, space_pk: str, build: Build, generation: int) -> InstanceRow:
        """Start ``build`` and record the instance as ``starting``; ``StartError`` if the runtime refuses."""
        spec = self.launch_spec(space_pk, build)
        try:
            instance = static_instance(spec) if is_static(spec) else await self.runtime.start(spec)
        except Exception as exc:
            raise StartError(f"The runtime could not start the app: {exc}") from exc
        with self.sessions() as session:
            row = InstanceRow(
                id=instance.instance_id,
                space_id=space_pk,
                build_id=build.id,
                sha=build.sha,
                generation=generation,
                runtime=STATIC_RUNTIME if is_static(spec) else self.runtime.name,
                handle=instance.handle,
                host=instance.host,
                port=instance.port,
                log_path=instance.log_path,
                deps_key=instance.deps_key,
                state="starting",
            )
            session.add(row)
            session.commit()
            return row

    async def wait_ready(self, row: InstanceRow, timeout: float) -> tuple[bool, str]:
        """Until ``row`` answers HTTP (``True``), exits or ``timeout`` passes (``False`` and why)."""
        deadline = self.clock() + timeout
        url = f"http://{row.host}:{row.port}/"
        while self.clock() < deadline:
            status = await self.status(row)
            if row.runtime == STATIC_RUNTIME and status.state is InstanceState.RUNNING:
                return True, ""  # the proxy serves the files itself
            if status.state is not InstanceState.RUNNING:
                code = f" with exit code {status.exit_code}" if status.exit_code is not None else ""
                tail = log_tail(row.log_path)
                return False, f"The app exited{code} before answering. Last lines of its log:\n{tail}"
            try:
                await self._http.get(url)
                return True, ""
            except httpx.HTTPError:
                await asyncio.sleep(0.05)
        return False, (
            f"The app did not answer on port {row.port} within {timeout:g} s"
            " (startup_duration_timeout). Last lines of its log:\n" + log_tail(row.log_path)
        )

    async def stop(self, row_id: str, *, state: str) -> None:
        """Stop the instance (if it runs) and record ``state`` (``stopped`` or ``failed``)."""
        with self.sessions() as session:
            row = session.get(InstanceRow, row_id)
            if row is None:
                return
            instance = instance_of(row)
            static = row.runtime == STATIC_RUNTIME
        if not static:
            await self.runtime.stop(instance)
        with self.sessions() as session:
            row = session.get_one(InstanceRow, row_id)
            row.state = state
            row.stopped_at = utcnow()
            session.commit()

    async def prepare_standby(self, space_pk: str, build: Build) -> None:
        """Warm a standby for the Space's next version; drop it if the Space was deleted meanwhile."""
        try:
            spec = self.launch_spec(space_pk, build)
            if is_static(spec):
                return
            await self.runtime.prepare_standby(spec)
        except Exception:
            log.exception("preparing a standby for %s failed", space_pk)
            return
        with self.sessions() as session:
            space = session.get(Space, space_pk)
            gone = space is None or space.stage == Stage.DELETING
        if gone:
            await self.runtime.discard_standby(spec.space_id)
