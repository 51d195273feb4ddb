"""The parts of one running control plane, wired together once at start-up and shared by the API."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from orchestrator.building.pipeline import BuildPipeline
from orchestrator.control.idle import IdleController
from orchestrator.control.reconciler import Reconciler
from orchestrator.gitserver.repos import RepoStore
from orchestrator.proxy.metrics import TrafficMetrics
from orchestrator.proxy.routes import RouteTable
from orchestrator.runtimes.base import Runtime
from orchestrator.settings import Settings


@dataclass
class Platform:
    settings: Settings
    sessions: sessionmaker[Session]
    repos: RepoStore
    runtime: Runtime
    routes: RouteTable
    pipeline: BuildPipeline
    reconciler: Reconciler
    idle: IdleController | None = None
    """Puts idle Spaces to sleep and wakes them on request (``None``: Spaces never sleep)."""
    metrics: TrafficMetrics = field(default_factory=TrafficMetrics)
