"""Assembling and running a device API: from a data dir, a pool and settings to a listening server.

Owns the wiring (key, ledger, quota restore, registry, scheduler) and two ways to run it: on the
caller's event loop (``serve``, used by the ``run`` command) or on a thread of its own
(``ServerThread``: tests, the benchmark, a synchronous host program).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
import uvloop

from orchestrator.zerogpu.identity import load_or_create_key
from orchestrator.zerogpu.ledger import FileLedger, UsageRecord, UsageSink
from orchestrator.zerogpu.pool import DevicePool
from orchestrator.zerogpu.quota import QuotaBook
from orchestrator.zerogpu.registry import SpaceRegistry
from orchestrator.zerogpu.scheduler import Scheduler
from orchestrator.zerogpu.server import DeviceAPI, SpaceNotice, _log_notice
from orchestrator.zerogpu.settings import ZeroGPUSettings
from orchestrator.zerogpu.workers import WorkerControl

T = TypeVar("T")


def ledger_path(data_dir: Path) -> Path:
    return data_dir / "zerogpu" / "ledger.jsonl"


def restore_quotas(book: QuotaBook, records: Iterable[UsageRecord], now: float) -> None:
    """Usage of quota windows still open, so a restart gives nobody their quota back."""
    for record in records:
        book.restore(record.visitor, record.window_started_at, record.quota_s, now)


def build_device_api(
    data_dir: Path,
    pool: DevicePool,
    settings: ZeroGPUSettings,
    workers: WorkerControl,
    *,
    ledger: UsageSink | None = None,
    notice: SpaceNotice = _log_notice,
) -> DeviceAPI:
    key = load_or_create_key(data_dir)
    sink: UsageSink = ledger if ledger is not None else FileLedger(ledger_path(data_dir))
    scheduler = Scheduler(settings, pool.devices())
    restore_quotas(scheduler.quota, sink.records(), time.time())
    return DeviceAPI(scheduler, SpaceRegistry(key), workers, sink, key, notice=notice)


def listening_socket(host: str, port: int) -> socket.socket:
    """The device API's socket. TCP_NODELAY here (connections inherit it): uvicorn writes an answer's head
    and body separately, and on the default asyncio loop the body otherwise waited for the client's
    delayed ACK, about 40 ms per grant."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def uvicorn_server(api: DeviceAPI) -> uvicorn.Server:
    config = uvicorn.Config(
        api.app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=2
    )
    return uvicorn.Server(config)


class ServerThread:
    """The device API listening on ``host`` (a free port unless given), served from a background thread."""

    def __init__(self, api: DeviceAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api = api
        self._socket = listening_socket(host, port)
        self.base_url = f"http://{host}:{self._socket.getsockname()[1]}"
        self._server = uvicorn_server(api)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="zerogpu-device-api", daemon=True)

    def _run(self) -> None:
        self._loop = uvloop.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._server.serve(sockets=[self._socket]))

    def start(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the ZeroGPU device API did not start")
            time.sleep(0.01)
        return self

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the server's loop and return its result (scheduler state lives there)."""
        assert self._loop is not None

        async def run() -> T:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=10)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
