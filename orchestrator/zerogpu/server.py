"""The device API: the HTTP server the `spaces` client of every ZeroGPU Space talks to.

Owns the ASGI app (Starlette) and the loop that drives the pure scheduler: it parses and authenticates
requests (the Space by the secret in its URL, the visitor by the ``X-IP-Token`` the client forwards),
turns scheduler outcomes into the exact answers the client expects (``protocol.py``), streams queued
calls, runs the clock (queue time-outs, duration warnings, ending overrunning workers), watches running
workers for crashes, and writes finished calls to the ledger. All scheduler state is touched on the
event loop only; other threads go through ``call_soon``.

Routes (each under ``/<space secret>``): ``POST /startup-report``, ``POST /schedule``, ``POST /allow``,
``POST /release``, ``GET /queue-size``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from orchestrator.zerogpu import identity
from orchestrator.zerogpu.leases import CallRequest, Lease, ZeroSpace
from orchestrator.zerogpu.ledger import UsageSink
from orchestrator.zerogpu.pool import DevicePool
from orchestrator.zerogpu.protocol import (
    APPROVE_RESULT_HEADER,
    AUTHENTICATED_HEADER,
    DEFAULT_DURATION_S,
    GPU_SIZES,
    QUEUING_REASON_HEADER,
    GPUSize,
    Grant,
    over_quota_body,
    sse_event,
)
from orchestrator.zerogpu.registry import SpaceRegistry
from orchestrator.zerogpu.scheduler import (
    Dispatched,
    DurationExceeded,
    EndWorker,
    Event,
    Granted,
    LeaseEnded,
    Queued,
    QueueTimedOut,
    Refused,
    Scheduler,
    Unavailable,
)
from orchestrator.zerogpu.workers import WorkerControl

log = logging.getLogger("orchestrator.zerogpu")

SpaceNotice = Callable[[str, str], None]
"""``(space_id, message)``: a line for the Space's logs (a call ran past its duration, was ended...)."""


def _log_notice(space_id: str, message: str) -> None:
    log.info("%s: %s", space_id, message)


class _BadRequest(Exception):
    pass


def _grant(lease: Lease) -> Grant:
    return Grant(lease.idle, lease.device.index, lease.device.uuid, lease.token)


class DeviceAPI:
    def __init__(
        self,
        scheduler: Scheduler,
        registry: SpaceRegistry,
        workers: WorkerControl,
        ledger: UsageSink,
        visitor_key: bytes,
        *,
        clock: Callable[[], float] = time.time,
        notice: SpaceNotice = _log_notice,
    ) -> None:
        self.scheduler = scheduler
        self.registry = registry
        self.workers = workers
        self.ledger = ledger
        self.notice = notice
        self._visitor_key = visitor_key
        self._clock = clock
        self._waiters: dict[int, asyncio.Future[Lease | None]] = {}
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        routes = [
            Route("/{secret}/startup-report", self._startup_report, methods=["POST"]),
            Route("/{secret}/schedule", self._schedule, methods=["POST"]),
            Route("/{secret}/allow", self._allow, methods=["POST"]),
            Route("/{secret}/release", self._release, methods=["POST"]),
            Route("/{secret}/queue-size", self._queue_size, methods=["GET"]),
        ]
        self.app = Starlette(routes=routes, lifespan=self._lifespan)

    # -- for the platform (on the loop, or through call_soon) -----------------------------------

    def register_space(self, space: ZeroSpace) -> str:
        """Let a Space use the device API; returns the secret of its URL (``registry.device_api_url``)."""
        return self.registry.register(space)

    def space_stopped(self, space_id: str) -> None:
        """The Space's app is gone: its leases end, its waiting calls fail, its URL stops working."""
        self.registry.unregister(space_id)
        self._handle(self.scheduler.space_stopped(space_id, self._clock()))

    def update_pool(self, pool: DevicePool) -> None:
        """Re-read the devices dedicated to ZeroGPU (after the admin changed them)."""
        self._handle(self.scheduler.update_devices(pool.devices(), self._clock()))

    def call_soon(self, function: Callable[[], Any]) -> None:
        """Run ``function`` on the server's loop (from another thread)."""
        assert self._loop is not None, "the device API is not running"
        self._loop.call_soon_threadsafe(function)

    # -- the clock --------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        task = asyncio.create_task(self._run_clock())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _run_clock(self) -> None:
        assert self._wake is not None
        interval = self.scheduler.settings.liveness_interval_s
        next_liveness = self._clock() + interval
        while True:
            now = self._clock()
            deadline = self.scheduler.next_deadline()
            wake_at = next_liveness if deadline is None else min(deadline, next_liveness)
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that races
            # with the event, and the server could then never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, wake_at - now)):
                    await self._wake.wait()
            self._wake.clear()
            try:
                now = self._clock()
                self._handle(self.scheduler.tick(now))
                if now >= next_liveness:
                    self._check_workers(now)
                    next_liveness = now + interval
            except Exception:
                log.exception("ZeroGPU clock: tick failed")

    def _check_workers(self, now: float) -> None:
        watched = {(lease.call.space.space_id, lease.pid) for lease in self.scheduler.leases()}
        watched |= {(resident.space_id, resident.pid) for resident in self.scheduler.residents().values()}
        for space_id, pid in watched:
            if pid is not None and not self.workers.alive(space_id, pid):
                self._handle(self.scheduler.worker_exited(space_id, pid, now))

    # -- scheduler events -> the world ------------------------------------------------------------

    def _handle(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, Dispatched):
                waiter = self._waiters.pop(event.ticket_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(event.lease)
                else:
                    self._handle(self.scheduler.abandon(event.lease.token, self._clock()))
            elif isinstance(event, QueueTimedOut):
                waiter = self._waiters.pop(event.ticket_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
            elif isinstance(event, DurationExceeded):
                lease = event.lease
                self.notice(
                    lease.call.space.space_id,
                    f"ZeroGPU: a call of task {lease.call.task_id} is exceeding its requested duration of "
                    f"{lease.call.duration_s}s; its worker is ended in {lease.grace_s:g}s",
                )
            elif isinstance(event, EndWorker):
                self.notice(event.space_id, f"ZeroGPU: ending worker {event.pid}: {event.why}")
                self.workers.end(event.space_id, event.pid)
            elif isinstance(event, LeaseEnded):
                self.ledger.append(event.record)
        if events:
            self._poke()

    # -- routes -----------------------------------------------------------------------------------

    def _space(self, request: Request) -> ZeroSpace | None:
        return self.registry.by_secret(request.path_params["secret"])

    async def _startup_report(self, request: Request) -> Response:
        space = self._space(request)
        if space is None:
            return _not_found()
        self.notice(space.space_id, "ZeroGPU: app started")
        return PlainTextResponse("OK")

    async def _schedule(self, request: Request) -> Response:
        space = self._space(request)
        if space is None:
            return _not_found()
        try:
            call, may_wait = self._parse_schedule(space, request)
        except _BadRequest as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        except identity.VisitorTokenError as exc:
            return JSONResponse({"detail": f"visitor token refused: {exc}"}, status_code=401)
        headers: dict[str, str] = {}
        if (level := call.visitor.auth_level) is not None:
            headers[AUTHENTICATED_HEADER] = level
        outcome = self.scheduler.schedule(call, self._clock(), may_wait=may_wait)
        if isinstance(outcome, Granted):
            self._handle(list(outcome.evictions))
            self._poke()  # the clock must wake at this lease's deadline
            headers[APPROVE_RESULT_HEADER] = "approved"
            return Response(_grant(outcome.lease).to_json(), headers=headers, media_type="application/json")
        if isinstance(outcome, Refused):
            refusal = outcome.refusal
            headers[APPROVE_RESULT_HEADER] = refusal.result
            body = over_quota_body(refusal.left_s, refusal.wait_s)
            return Response(body, status_code=429, headers=headers, media_type="application/json")
        if isinstance(outcome, Unavailable):
            return JSONResponse({"detail": outcome.reason}, status_code=503, headers=headers)
        assert isinstance(outcome, Queued)
        headers[APPROVE_RESULT_HEADER] = "approved"
        headers[QUEUING_REASON_HEADER] = outcome.reason
        # Registered now, not when the stream starts: a device may free up before then.
        waiter: asyncio.Future[Lease | None] = asyncio.get_running_loop().create_future()
        self._waiters[outcome.ticket.id] = waiter
        self._poke()
        return _QueueStream(self, outcome.ticket.id, waiter, headers)

    def _parse_schedule(self, space: ZeroSpace, request: Request) -> tuple[CallRequest, bool]:
        query = request.query_params
        duration = _int_param(query.get("durationSeconds"), "durationSeconds", DEFAULT_DURATION_S)
        if duration < 1:
            raise _BadRequest("durationSeconds must be a positive number of seconds")
        size = query.get("gpuSize") or "large"
        if size not in GPU_SIZES:
            raise _BadRequest(f"gpuSize must be one of {', '.join(GPU_SIZES)}")
        gpu_size: GPUSize = "xlarge" if size == "xlarge" else "large"
        token = query.get("token")
        claims = None
        if token:
            claims = identity.verify(self._visitor_key, token, space_id=space.space_id, now=self._clock())
        call = CallRequest(
            space=space,
            task_id=_int_param(query.get("taskId"), "taskId", 0),
            visitor=identity.visitor_of(claims, space.space_id),
            duration_s=duration,
            size=gpu_size,
            cgroup_path=query.get("cgroupPath", ""),
        )
        return call, query.get("enableQueue", "true").lower() != "false"

    async def _allow(self, request: Request) -> Response:
        space = self._space(request)
        if space is None:
            return _not_found()
        token = request.query_params.get("allowToken", "")
        try:
            pid = _int_param(request.query_params.get("pid"), "pid", None)
        except _BadRequest as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        if pid <= 1:
            return JSONResponse({"detail": "pid must be a worker process, not 1"}, status_code=400)
        if self.scheduler.lease_of(space.space_id, token) is None:
            return _not_found("no such GPU lease")
        if not self.workers.owns(space.space_id, pid):
            # Never attach an unverified pid: it is the one ended if the call overruns.
            return JSONResponse({"detail": f"process {pid} is not a process of this Space"}, status_code=403)
        self.scheduler.allow(space.space_id, token, pid)
        return PlainTextResponse("OK")

    async def _release(self, request: Request) -> Response:
        space = self._space(request)
        if space is None:
            return _not_found()
        token = request.query_params.get("allowToken", "")
        fail = request.query_params.get("fail", "false").lower() == "true"
        status, events = self.scheduler.release(space.space_id, token, fail, self._clock())
        self._handle(events)
        if status == "unknown":
            return _not_found("no such GPU lease")
        if status == "unused":
            return Response(status_code=204)
        return PlainTextResponse("OK")

    async def _queue_size(self, request: Request) -> Response:
        if self._space(request) is None:
            return _not_found()
        return JSONResponse(len(self.scheduler.waiting))


def _not_found(detail: str = "Not Found") -> Response:
    return JSONResponse({"detail": detail}, status_code=404)


def _int_param(raw: str | None, name: str, default: int | None) -> int:
    if raw is None or raw == "":
        if default is None:
            raise _BadRequest(f"{name} is required")
        return default
    try:
        return int(raw)
    except ValueError:
        raise _BadRequest(f"{name} must be an integer, not {raw!r}") from None


class _QueueStream(Response):
    """A queued call's ``text/event-stream``: pings until its device is granted or it times out, each
    event in a chunk of its own. A visitor who disconnects gives their place (or their device) back."""

    def __init__(
        self, api: DeviceAPI, ticket_id: int, waiter: asyncio.Future[Lease | None], headers: dict[str, str]
    ) -> None:
        # No body and so no Content-Length: the events are streamed in chunks.
        self.status_code = 200
        self.media_type = "text/event-stream"
        self.background = None
        self.init_headers({**headers, "Cache-Control": "no-cache"})
        self.api = api
        self.ticket_id = ticket_id
        self.waiter = waiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        api = self.api
        delivered = False
        disconnected: asyncio.Future[None] = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            ping = api.scheduler.settings.ping_interval_s
            while True:
                waited: set[asyncio.Future[Any]] = {self.waiter, disconnected}
                done, _ = await asyncio.wait(waited, timeout=ping, return_when=asyncio.FIRST_COMPLETED)
                if disconnected in done:
                    return
                if self.waiter not in done:
                    await send({"type": "http.response.body", "body": sse_event("ping"), "more_body": True})
                    continue
                lease = self.waiter.result()
                if lease is None:
                    body = sse_event("failed")
                else:
                    body = sse_event("succeeded", _grant(lease).to_json())
                await send({"type": "http.response.body", "body": body, "more_body": True})
                delivered = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
        finally:
            disconnected.cancel()
            api._waiters.pop(self.ticket_id, None)
            now = api._clock()
            if not self.waiter.done():
                self.waiter.cancel()
                api.scheduler.cancel(self.ticket_id, now)
            elif not delivered and (lease := self.waiter.result()) is not None:
                api._handle(api.scheduler.abandon(lease.token, now))


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
