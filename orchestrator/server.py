"""Starting a control plane: prepare the data directory and database, wire the parts, serve HTTP.

``build_platform`` is pure wiring (tests use it in-process); ``serve`` adds the first-run admin token and
serves: the front door (``orchestrator.proxy.frontdoor``) on the public port, relaying app hosts itself
and the API host to uvicorn on an internal unix socket, all in one event loop (``SPACES_FRONT_DOOR=false``:
uvicorn alone on the public port, app hosts through the ASGI proxy). Stopping the server leaves running
Spaces running; the next start adopts them.
"""

from __future__ import annotations

import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

import uvicorn
import uvloop
from starlette.types import ASGIApp

from builders.base import BuildOptions
from orchestrator.building.engines import BuildEngine
from orchestrator.building.image import ImageEngine
from orchestrator.building.pipeline import BuildPipeline
from orchestrator.building.venv import VenvEngine
from orchestrator.control.idle import IdleController
from orchestrator.control.platform import Platform
from orchestrator.control.reconciler import Reconciler
from orchestrator.control.users import bootstrap_admin
from orchestrator.gitserver.repos import RepoStore
from orchestrator.proxy.frontdoor import FrontDoor
from orchestrator.proxy.gate import Gate
from orchestrator.proxy.metrics import TrafficMetrics
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
        return ImageEngine(
            client=connect(url, timeout=600),
            runtime_images_dir=RUNTIME_IMAGES_DIR,
            base_image_prefix=settings.base_image_prefix,
        )
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
    metrics = TrafficMetrics()
    idle = IdleController(
        settings=settings,
        sessions=sessions,
        runtime=runtime,
        routes=routes,
        reconciler=reconciler,
        metrics=metrics,
    )
    return Platform(
        settings=settings,
        sessions=sessions,
        repos=repos,
        runtime=runtime,
        routes=routes,
        pipeline=pipeline,
        reconciler=reconciler,
        idle=idle,
        metrics=metrics,
    )


def serve(settings: Settings) -> None:
    from orchestrator.api.app import create_app_and_gate

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
    app, gate = create_app_and_gate(platform)
    # The proxy forwards the app's own Server/Date headers and sets X-Forwarded-* itself.
    options: dict[str, Any] = {
        "log_level": "warning",
        "proxy_headers": False,
        "server_header": False,
        "date_header": False,
        "ws_ping_interval": None,
        "ws": "websockets-sansio",
    }
    if not settings.front_door:
        uvicorn.run(app, host=settings.host, port=settings.port, **options)
        return
    uvloop.run(_serve_behind_front_door(settings, app, gate, options))


class _ApiServer(uvicorn.Server):
    """uvicorn serving the control plane on an internal socket, with the front door on the public port
    opened once the app has started and closed around uvicorn's own shutdown."""

    def __init__(self, config: uvicorn.Config, door: FrontDoor, host: str, port: int) -> None:
        super().__init__(config)
        self.door = door
        self.public = (host, port)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            host, port = self.public
            try:
                await self.door.start(host, port)
            except OSError as error:
                print(f"Cannot listen on {host}:{port}: {error}", file=sys.stderr)
                self.should_exit = True
                self.force_exit = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.door.stop_accepting()
        await super().shutdown(sockets)
        await self.door.close()


async def _serve_behind_front_door(
    settings: Settings, app: ASGIApp, gate: Gate, options: dict[str, Any]
) -> None:
    """One event loop: the front door on ``host:port``, uvicorn (API, git, lifespan) on a unix socket
    in a private temporary folder that only the front door connects to."""
    with tempfile.TemporaryDirectory(prefix="spaces-api-") as folder:
        path = str(Path(folder) / "api.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)
        door = FrontDoor(gate, settings.domain, api_address=path)
        server = _ApiServer(uvicorn.Config(app, **options), door, settings.host, settings.port)
        await server.serve(sockets=[sock])
        if server.force_exit and not server.started:
            raise SystemExit(1)
