"""``GET /metrics``: each Space's traffic, open connections, stage and last request, for Prometheus.

With them, how many spares (warm interpreters for waking sleeping Spaces) the runtime keeps. Anyone
may scrape the public Spaces; private ones appear only for an admin's token (a Prometheus
``authorization`` credential), so the endpoint does not reveal that they exist.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.api.deps import get_platform, get_session, optional_caller
from orchestrator.auth import Caller
from orchestrator.control.platform import Platform
from orchestrator.proxy import metrics
from orchestrator.state.models import Space

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response)
def prometheus_metrics(
    caller: Caller | None = Depends(optional_caller),
    session: Session = Depends(get_session),
    platform: Platform = Depends(get_platform),
) -> Response:
    stages = {
        space.space_id: space.stage
        for space in session.scalars(select(Space))
        if not space.private or (caller is not None and caller.may_read_private_of(space.owner))
    }
    open_connections: dict[str, int] = {}
    for route in platform.routes.all().values():
        if route.space:
            count = platform.routes.open_connections(route.instance_id)
            open_connections[route.space] = open_connections.get(route.space, 0) + count
    spares = platform.runtime.spare_count()
    text = metrics.render(platform.metrics, stages=stages, open_connections=open_connections, spares=spares)
    return Response(text, media_type=metrics.CONTENT_TYPE)
