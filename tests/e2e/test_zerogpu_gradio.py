"""ZeroGPU end to end: a real Gradio app with ``import spaces`` and ``@spaces.GPU`` (the `spaces` package
from PyPI, unchanged), run as a process with a ZeroGPU Space's environment, called through
``gradio_client`` by several visitors at once, against the device API with a declared pool of two GPUs.
No GPU is needed: the decorated function touches none (the pool is declared, see pool.py). No control
plane either: the test plays the runtime (it starts the app and binds its pid) and the proxy (it mints
each visitor's ``X-IP-Token``).

The errors asserted are the `spaces` client's own messages, the ones visitors see on the Hub.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from orchestrator.testing import REPO_ROOT
from orchestrator.zerogpu import identity
from orchestrator.zerogpu.environment import app_environment
from orchestrator.zerogpu.leases import Lease, ZeroSpace
from orchestrator.zerogpu.ledger import MemoryLedger, UsageRecord
from orchestrator.zerogpu.pool import StaticDevicePool, ZeroDevice
from orchestrator.zerogpu.registry import device_api_url
from orchestrator.zerogpu.server import DeviceAPI
from orchestrator.zerogpu.service import ServerThread, build_device_api
from orchestrator.zerogpu.settings import Tier, TierLimits, ZeroGPUSettings
from orchestrator.zerogpu.workers import LocalProcessWorkers

APP = REPO_ROOT / "tests" / "fixtures" / "zerogpu_app" / "app.py"
SPACE = "alice/zero-hello"
POOL = StaticDevicePool([ZeroDevice(0, "GPU-e2e-0", "large"), ZeroDevice(1, "GPU-e2e-1", "large")])
SETTINGS = ZeroGPUSettings(
    tiers={
        Tier.ANONYMOUS: TierLimits(daily_s=30),
        Tier.REGULAR: TierLimits(daily_s=40),
        Tier.PRO: TierLimits(daily_s=600),
    },
    grace_s=1.0,
    queue_timeout_s=12.0,  # above the longest wait of the queue-order test, with room for a loaded machine
    ping_interval_s=0.5,
    liveness_interval_s=0.2,
)

NOTICES: list[tuple[str, str]] = []
"""Lines the device API wrote to the Spaces' logs."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ZeroSpaceApp:
    """One ZeroGPU Space's app process and the device API it talks to."""

    space_id: str
    api: DeviceAPI
    server: ServerThread
    ledger: MemoryLedger
    process: subprocess.Popen[bytes]
    url: str
    key: bytes
    log: Path

    def visitor(self, subject: str | None, tier: Tier = Tier.REGULAR, *, ttl_s: int = 600) -> Client:
        """A gradio_client session of one visitor, as the proxy would stamp their requests."""
        headers = {}
        if subject is not None:
            token = identity.mint_for(
                self.key, subject=subject, tier=tier, space_id=self.space_id, now=time.time(), ttl_s=ttl_s
            )
            headers["X-IP-Token"] = token
        return Client(self.url, headers=headers, verbose=False)

    def on_loop(self, read: Callable[[DeviceAPI], Any]) -> Any:
        return self.server.call(lambda: read(self.api))

    def wait_until(self, what: str, check: Callable[[DeviceAPI], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.on_loop(check):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out waiting for {what}; app log:\n{self.log.read_text()[-3000:]}"
                )
            time.sleep(0.05)

    def records(self, visitor: str, count: int, timeout: float = 15) -> list[UsageRecord]:
        deadline = time.monotonic() + timeout
        while True:
            mine = [record for record in self.ledger.records() if record.visitor == visitor]
            if len(mine) >= count or time.monotonic() > deadline:
                return mine
            time.sleep(0.05)


def start_app(
    tmp: Path,
    server: ServerThread,
    api: DeviceAPI,
    ledger: MemoryLedger,
    workers: LocalProcessWorkers,
    space_id: str,
) -> ZeroSpaceApp:
    secret = api.register_space(ZeroSpace(space_id, team="lab", concurrency_limit=4))
    url = device_api_url(server.base_url, secret)
    port = free_port()
    env = {
        **os.environ,
        **app_environment(space_id, url, POOL.devices()),
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HOME": str(tmp),
    }
    log = tmp / f"{space_id.replace('/', '-')}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(APP)], env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT
        )
    workers.bind(space_id, process.pid)
    app = ZeroSpaceApp(
        space_id,
        api,
        server,
        ledger,
        process,
        f"http://127.0.0.1:{port}/",
        identity.load_or_create_key(tmp),
        log,
    )
    deadline = time.monotonic() + 180
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the ZeroGPU app exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(app.url + "config", timeout=5).status_code == 200:
                return app
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"the ZeroGPU app did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)


@pytest.fixture(scope="module")
def device_api(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, ServerThread, DeviceAPI, MemoryLedger, LocalProcessWorkers]]:
    tmp = tmp_path_factory.mktemp("zerogpu")
    ledger = MemoryLedger()
    workers = LocalProcessWorkers()
    api = build_device_api(
        tmp, POOL, SETTINGS, workers, ledger=ledger, notice=lambda s, m: NOTICES.append((s, m))
    )
    with ServerThread(api) as server:
        yield tmp, server, api, ledger, workers


@pytest.fixture(scope="module")
def app(
    device_api: tuple[Path, ServerThread, DeviceAPI, MemoryLedger, LocalProcessWorkers],
) -> Iterator[ZeroSpaceApp]:
    tmp, server, api, ledger, workers = device_api
    zero = start_app(tmp, server, api, ledger, workers, SPACE)
    yield zero
    zero.process.terminate()
    zero.process.wait(timeout=30)


def run(
    client: Client, seconds: float, duration: int, mode: str = "ok", api_name: str = "/work"
) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(client.predict(seconds, mode, duration, api_name=api_name))
    return result


def app_error(
    client: Client, seconds: float, duration: int, mode: str = "ok", api_name: str = "/work"
) -> str:
    with pytest.raises(AppError) as caught:
        client.predict(seconds, mode, duration, api_name=api_name)
    return str(caught.value)


def leases(api: DeviceAPI, *, visitor: str | None = None, space: str | None = None) -> list[Lease]:
    return [
        lease
        for lease in api.scheduler.leases()
        if visitor in (None, lease.call.visitor.key) and space in (None, lease.call.space.space_id)
    ]


def running(*, visitor: str | None = None, space: str | None = None) -> Callable[[DeviceAPI], bool]:
    return lambda api: any(lease.pid for lease in leases(api, visitor=visitor, space=space))


def busy(count: int) -> Callable[[DeviceAPI], bool]:
    return lambda api: len(api.scheduler.leases()) >= count


def waiting(count: int) -> Callable[[DeviceAPI], bool]:
    return lambda api: len(api.scheduler.waiting) >= count


def test_a_call_gets_a_gpu_and_the_next_one_reuses_its_idle_worker(app: ZeroSpaceApp) -> None:
    visitor = app.visitor("user:reuse", Tier.PRO)
    first = run(visitor, 0.2, 10)
    second = run(visitor, 0.2, 10)
    assert first["pid"] == second["pid"], "the worker left on the device was not reused"
    assert first["pid"] != app.process.pid
    records = app.records("user:reuse", 2)
    assert [r.outcome for r in records] == ["ok", "ok"]
    assert records[0].device_index == records[1].device_index
    assert all(r.space_id == SPACE and r.team == "lab" and 0.2 <= r.gpu_s < 10 for r in records)
    assert all(r.quota_s == pytest.approx(r.gpu_s) for r in records)


def test_visitors_queue_for_two_busy_gpus_and_are_served_by_quota_left(app: ZeroSpaceApp) -> None:
    filler = app.visitor("user:filler", Tier.PRO)
    long_job = filler.submit(6, "ok", 20, api_name="/work")
    app.wait_until("a first busy GPU", busy(1))
    short_job = filler.submit(3, "ok", 20, api_name="/work")
    app.wait_until("both GPUs busy", busy(2))
    # Arrival order is the reverse of the quota order.
    anonymous = app.visitor("ip:198.51.100.9", Tier.ANONYMOUS).submit(0.5, "ok", 10, api_name="/work")
    app.wait_until("the anonymous visitor queued", waiting(1))
    regular = app.visitor("user:queue-regular", Tier.REGULAR).submit(0.5, "ok", 10, api_name="/work")
    app.wait_until("the regular visitor queued", waiting(2))
    pro = app.visitor("user:queue-pro", Tier.PRO).submit(0.5, "ok", 10, api_name="/work")
    app.wait_until("the pro visitor queued", waiting(3))
    for job in (anonymous, regular, pro):
        assert json.loads(job.result(timeout=60))["pid"]
    granted = {
        visitor: app.records(visitor, 1)[0].granted_at
        for visitor in ("ip:198.51.100.9", "user:queue-regular", "user:queue-pro")
    }
    assert sorted(granted, key=granted.__getitem__) == [
        "user:queue-pro",
        "user:queue-regular",
        "ip:198.51.100.9",
    ]
    long_job.result(timeout=60)
    short_job.result(timeout=60)
    assert not app.on_loop(lambda api: api.scheduler.leases())


def test_quota_exhaustion_shows_the_client_s_own_message(app: ZeroSpaceApp) -> None:
    visitor = app.visitor("user:spender", Tier.REGULAR)
    holding = visitor.submit(3, "ok", 30, api_name="/work")
    app.wait_until("the first call running", running(visitor="user:spender"))
    message = app_error(app.visitor("user:spender", Tier.REGULAR), 0.1, 20)
    expected = r"You have exceeded your free ZeroGPU quota \(20s requested vs\. 10s left\)\. "
    assert re.match(expected + r"Try again in 23:59:\d\d\. ", message), message
    assert "Subscribe to Hugging Face PRO" in message  # the client's advice to API callers
    holding.result(timeout=30)
    (record,) = app.records("user:spender", 1)
    assert record.quota_s < 30  # charged what it used, not what it reserved


def test_a_duration_above_the_tier_s_maximum_is_refused_as_illegal(app: ZeroSpaceApp) -> None:
    message = app_error(app.visitor("ip:203.0.113.5", Tier.ANONYMOUS), 0.1, 31)
    assert message.startswith("The requested GPU duration (31s) is larger than the maximum allowed")


def test_calls_without_a_visitor_token_spend_the_space_s_own_quota(app: ZeroSpaceApp) -> None:
    nobody = app.visitor(None)
    holding = nobody.submit(3, "ok", 20, api_name="/work")
    app.wait_until("the token-less call running", running(visitor=f"space:{SPACE}"))
    message = app_error(app.visitor(None), 0.1, 20)
    assert message == (
        "Space app has reached its GPU limit. "
        "Try re-running outside of examples if it happened after clicking one"
    )
    holding.result(timeout=30)


def test_an_expired_visitor_token_is_refused(app: ZeroSpaceApp) -> None:
    assert app_error(app.visitor("user:late", Tier.PRO, ttl_s=-60), 0.1, 10) == "Expired ZeroGPU proxy token"


def test_no_gpu_of_the_size_asked_for(app: ZeroSpaceApp) -> None:
    assert (
        app_error(app.visitor("user:big", Tier.PRO), 0.1, 10, api_name="/work_xlarge")
        == "No GPU was available"
    )


def test_a_queued_call_gives_up_after_the_queue_timeout(app: ZeroSpaceApp) -> None:
    filler = app.visitor("user:filler2", Tier.PRO)
    jobs = [filler.submit(16, "ok", 30, api_name="/work") for _ in range(2)]
    app.wait_until("both GPUs busy", busy(2))
    message = app_error(app.visitor("user:patient", Tier.REGULAR), 0.1, 10)
    assert message.startswith("No GPU was available after 60s")
    for job in jobs:
        job.result(timeout=60)


def test_a_failing_call_is_released_as_failed_and_still_charged(app: ZeroSpaceApp) -> None:
    message = app_error(app.visitor("user:failing", Tier.PRO), 0.1, 10, mode="raise")
    assert "ValueError" in message or "failed on purpose" in message
    (record,) = app.records("user:failing", 1)
    assert record.outcome == "failed"
    assert 0 < record.quota_s < 10


def test_a_worker_crashing_mid_call_releases_its_lease(app: ZeroSpaceApp) -> None:
    assert app_error(app.visitor("user:crashing", Tier.PRO), 0.1, 10, mode="crash") == "GPU task aborted"
    (record,) = app.records("user:crashing", 1)
    assert record.outcome in ("failed", "crashed")
    assert not app.on_loop(lambda api: leases(api, visitor="user:crashing"))
    assert run(app.visitor("user:crashing", Tier.PRO), 0.1, 10)["pid"]


def test_a_call_running_past_its_duration_is_ended_after_the_grace_period(app: ZeroSpaceApp) -> None:
    started = time.monotonic()
    assert app_error(app.visitor("user:slow", Tier.PRO), 30, 2) == "GPU task aborted"
    assert time.monotonic() - started < 15
    (record,) = app.records("user:slow", 1)
    assert record.outcome == "killed"
    assert record.gpu_s == pytest.approx(2 + SETTINGS.grace_s, abs=0.5)
    assert record.quota_s == 2
    space_log = [message for space_id, message in NOTICES if space_id == SPACE]
    assert any("exceeding its requested duration of 2s" in line for line in space_log), space_log
    assert any(line.startswith("ZeroGPU: ending worker") for line in space_log), space_log


def test_an_app_that_dies_mid_call_gives_its_gpu_back(
    device_api: tuple[Path, ServerThread, DeviceAPI, MemoryLedger, LocalProcessWorkers],
) -> None:
    tmp, server, api, ledger, workers = device_api
    doomed = start_app(tmp, server, api, ledger, workers, "alice/zero-doomed")
    token = identity.mint_for(
        doomed.key, subject="user:stranded", tier=Tier.PRO, space_id=doomed.space_id, now=time.time()
    )
    # The visitor is a process of its own: a gradio_client call whose app dies never returns, and its
    # thread would keep this interpreter from exiting.
    script = (
        "from gradio_client import Client;"
        f"Client({doomed.url!r}, headers={{'X-IP-Token': {token!r}}}, verbose=False)"
        ".predict(20, 'ok', 30, api_name='/work')"
    )
    visitor = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        doomed.wait_until("the call running", running(space="alice/zero-doomed"), timeout=60)
        doomed.process.kill()
        doomed.process.wait()
        doomed.wait_until("the lease closed", lambda a: not leases(a, space="alice/zero-doomed"), timeout=10)
        (record,) = doomed.records("user:stranded", 1)
        assert record.outcome == "crashed"
    finally:
        visitor.kill()
        visitor.wait()
        if doomed.process.poll() is None:
            doomed.process.kill()
