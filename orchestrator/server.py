"""Starting a control plane: prepare the data directory and database, wire the parts, serve HTTP.

``build_platform`` is pure wiring (tests use it in-process); ``serve`` adds the first-run admin token and
runs uvicorn. Stopping the server leaves running Spaces running; the next start adopts them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from builders.base import BuildOptions
from orchestrator.building.engines import BuildEngine
from orchestrator.building.image import ImageEngine
from orchestrator.building.pipeline import BuildPipeline
from orchestrator.building.venv import VenvEngine
from orchestrator.control.platform import Platform
from orchestrator.control.reconciler import Reconciler
from orchestrator.control.users import bootstrap_admin
from orchestrator.gitserver.repos import RepoStore
from orchestrator.proxy.routes import RouteTable
from orchestrator.runtimes import make_runtime
from orchestrator.runtimes.base import Runtime
from orchestrator.runtimes.engine import connect, find_engine
from orchestrator.settings import Settings
from orchestrator.state.database import make_engine, make_sessionmaker, migrate

RUNTIME_IMAGES_DIR = Path(__file__).resolve().parent.parent / "runtime-images"


def make_build_engine(settings: Settings, runtime: Runtime) -> BuildEngine:
    """The build engine that produces what ``runtime`` runs."""
    if runtime.name == "container":
        url = find_engine(settings.container_host or None)
        if url is None:
            raise RuntimeError(
                "No container engine answers; set SPACES_RUNTIME=process or start Podman/Docker."
            )
        return ImageEngine(client=connect(url, timeout=600), runtime_images_dir=RUNTIME_IMAGES_DIR)
    return VenvEngine(envs_dir=settings.envs_dir)


def build_platform(settings: Settings) -> Platform:
    for folder in (
        settings.data_dir,
        settings.repos_dir,
        settings.logs_dir,
        settings.work_dir,
        settings.envs_dir,
    ):
        folder.mkdir(parents=True, exist_ok=True)
    migrate(settings.effective_database_url)
    sessions = make_sessionmaker(make_engine(settings.effective_database_url))
    runtime = make_runtime(
        settings.runtime, logs_dir=settings.logs_dir, container_host=settings.container_host
    )
    repos = RepoStore(settings.repos_dir)
    routes = RouteTable()
    pipeline = BuildPipeline(
        repos=repos,
        engine=make_build_engine(settings, runtime),
        work_dir=settings.work_dir,
        options=BuildOptions(base_image_prefix=settings.base_image_prefix),
    )
    reconciler = Reconciler(
        settings=settings, sessions=sessions, runtime=runtime, pipeline=pipeline, routes=routes
    )
    return Platform(
        settings=settings,
        sessions=sessions,
        repos=repos,
        runtime=runtime,
        routes=routes,
        pipeline=pipeline,
        reconciler=reconciler,
    )


def serve(settings: Settings) -> None:
    from orchestrator.api.app import create_app

    platform = build_platform(settings)
    with platform.sessions() as session:
        admin_token = bootstrap_admin(session, settings.data_dir)
    url = settings.effective_public_url
    print(
        f"Spaces orchestrator on {url}  (runtime: {platform.runtime.name}, data: {settings.data_dir})",
        file=sys.stderr,
    )
    if admin_token:
        print(
            f"First start: admin token {admin_token}\n  (saved to {settings.data_dir / 'admin_token'};"
            " add users with `spaces users add NAME`)",
            file=sys.stderr,
        )
    # The proxy forwards the app's own Server/Date headers and sets X-Forwarded-* itself.
    uvicorn.run(
        create_app(platform),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        proxy_headers=False,
        server_header=False,
        date_header=False,
        ws_ping_interval=None,
        ws="websockets-sansio",
    )
