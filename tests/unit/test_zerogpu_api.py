"""The device API over HTTP, driven by the `spaces` package's own API client (the code every ZeroGPU
Space runs), against a server on a real port with a declared pool of two GPUs."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from spaces.zero.api import APIClient, GPUSize, QuotaInfos, ScheduleMetadata, ScheduleResponse

from orchestrator.zerogpu import identity
from orchestrator.zerogpu.leases import ZeroSpace
from orchestrator.zerogpu.ledger import MemoryLedger, UsageRecord
from orchestrator.zerogpu.pool import StaticDevicePool, ZeroDevice
from orchestrator.zerogpu.registry import device_api_url
from orchestrator.zerogpu.service import ServerThread, build_device_api
from orchestrator.zerogpu.settings import Tier, TierLimits, ZeroGPUSettings
from orchestrator.zerogpu.workers import LocalProcessWorkers

SPACE = "alice/zero"
OTHER = "mallory/other"
SETTINGS = ZeroGPUSettings(
    tiers={Tier.REGULAR: TierLimits(daily_s=100)},
    grace_s=0.5,
    queue_timeout_s=1.5,
    ping_interval_s=0.1,
    liveness_interval_s=0.1,
    max_active_calls=3,
)


class Harness:
    def __init__(self, data_dir: Path) -> None:
        self.ledger = MemoryLedger()
        self.workers = LocalProcessWorkers()
        pool = StaticDevicePool([ZeroDevice(0, "GPU-0", "large"), ZeroDevice(1, "GPU-1", "large")])
        self.api = build_device_api(data_dir, pool, SETTINGS, self.workers, ledger=self.ledger)
        self.key = identity.load_or_create_key(data_dir)
        self.server = ServerThread(self.api).start()
        self.urls = {}
        for space_id in (SPACE, OTHER):
            secret = self.api.register_space(ZeroSpace(space_id, team="t", concurrency_limit=3))
            self.urls[space_id] = device_api_url(self.server.base_url, secret)
            # The test process plays the app: its children are the Space's workers.
            self.workers.bind(space_id, os.getpid())
        self.children: list[subprocess.Popen[bytes]] = []

    def client(self, space_id: str = SPACE) -> APIClient:
        return APIClient(httpx.Client(base_url=self.urls[space_id], timeout=10))

    def token(self, subject: str, tier: Tier = Tier.REGULAR, space_id: str = SPACE, ttl_s: int = 60) -> str:
        return identity.mint_for(
            self.key, subject=subject, tier=tier, space_id=space_id, now=time.time(), ttl_s=ttl_s
        )

    def worker(self) -> int:
        child = subprocess.Popen(["sleep", "60"])
        self.children.append(child)
        return child.pid

    def records(self, timeout: float = 5, count: int = 1) -> list[UsageRecord]:
        deadline = time.monotonic() + timeout
        while len(self.ledger.records()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.ledger.records()

    def close(self) -> None:
        for child in self.children:
            child.kill()
            child.wait()
        self.server.stop()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    yield h
    h.close()


def schedule(
    client: APIClient, token: str | None, duration: int = 10, size: GPUSize | None = None
) -> tuple[Any, ScheduleMetadata]:
    """The client's own ``/schedule`` call: (grant | event stream | quota infos | status, headers)."""
    result: tuple[Any, ScheduleMetadata] = client.schedule(
        cgroup_path="/", task_id=7, token=token, token_version=2, duration_seconds=duration, gpu_size=size
    )
    return result


def test_an_idle_gpu_is_granted_with_the_headers_the_client_reads(harness: Harness) -> None:
    res, meta = schedule(harness.client(), harness.token("user:bob"))
    assert isinstance(res, ScheduleResponse)
    assert (res.nvidiaIndex, res.nvidiaUUID, res.idle) == (0, "GPU-0", False)
    assert (meta.auth, meta.approve_result, meta.queuing_reason) == ("regular", "approved", None)
    assert harness.client().allow(res.allowToken, harness.worker()) is httpx.codes.OK
    assert harness.client().release(res.allowToken) is httpx.codes.OK
    (record,) = harness.records()
    assert (record.visitor, record.tier, record.space_id, record.team, record.outcome) == (
        "user:bob",
        "regular",
        SPACE,
        "t",
        "ok",
    )


def test_a_pro_visitor_is_announced_and_an_anonymous_one_is_not(harness: Harness) -> None:
    _, meta = schedule(harness.client(), harness.token("user:pat", Tier.PRO))
    assert meta.auth == "pro"
    _, meta = schedule(harness.client(), None)
    assert meta.auth is None


def test_a_queued_call_pings_then_succeeds_when_a_gpu_frees_up(harness: Harness) -> None:
    client = harness.client()
    first, _ = schedule(client, harness.token("user:a"))
    second, _ = schedule(client, harness.token("user:b"))
    stream, meta = schedule(client, harness.token("user:c"))
    assert isinstance(first, ScheduleResponse) and isinstance(second, ScheduleResponse)
    assert (meta.queuing_reason, meta.approve_result) == ("node", "approved")
    assert next(stream).event == "ping"
    assert client.get_queue_size() == 1
    client.allow(first.allowToken, harness.worker())
    client.release(first.allowToken)
    events = [next(stream)]
    while events[-1].event == "ping":
        events.append(next(stream))
    assert events[-1].event == "succeeded"
    assert events[-1].data is not None and events[-1].data.nvidiaIndex == first.nvidiaIndex
    assert client.get_queue_size() == 0


def test_a_space_at_its_limit_queues_for_concurrency(harness: Harness) -> None:
    harness.api.register_space(ZeroSpace(SPACE, concurrency_limit=1))
    client = harness.client()
    schedule(client, harness.token("user:a"))
    stream, meta = schedule(client, harness.token("user:b"))
    assert meta.queuing_reason == "concurrency"
    stream.close()


def test_a_call_waiting_too_long_gets_failed(harness: Harness) -> None:
    client = harness.client()
    schedule(client, harness.token("user:a"))
    schedule(client, harness.token("user:b"))
    stream, _ = schedule(client, harness.token("user:c"))
    started = time.monotonic()
    events = [event.event for event in stream]
    assert events[-1] == "failed" and set(events[:-1]) == {"ping"}
    assert time.monotonic() - started == pytest.approx(SETTINGS.queue_timeout_s, abs=0.5)


def test_a_visitor_leaving_the_queue_gives_the_place_back(harness: Harness) -> None:
    client = harness.client()
    schedule(client, harness.token("user:a"))
    schedule(client, harness.token("user:b"))
    stream, _ = schedule(client, harness.token("user:c"))
    next(stream)
    stream.close()
    deadline = time.monotonic() + 3
    while client.get_queue_size() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert client.get_queue_size() == 0


def test_over_quota_illegal_duration_and_runs_limit_answer_429_as_the_client_expects(
    harness: Harness,
) -> None:
    client = harness.client()
    res, meta = schedule(client, harness.token("user:a"), duration=101)
    assert isinstance(res, QuotaInfos) and res.wait < timedelta(0)
    assert meta.approve_result == "illegal-duration"
    token = harness.token("user:b")
    held, _ = schedule(client, token, duration=80)
    assert isinstance(held, ScheduleResponse)
    res, meta = schedule(client, token, duration=30)
    assert isinstance(res, QuotaInfos)
    assert meta.approve_result == "quota-exceeded"
    assert res.left == 20
    assert timedelta(hours=23, minutes=59) < res.wait <= timedelta(hours=24)
    runner = harness.token("user:c", Tier.PRO)
    for _ in range(3):
        schedule(client, runner, duration=1)
    res, meta = schedule(client, runner, duration=1)
    assert isinstance(res, QuotaInfos) and res.wait == timedelta(0)
    assert meta.approve_result == "runs-exceeded"


def test_an_expired_or_foreign_visitor_token_is_401(harness: Harness) -> None:
    expired = identity.mint_for(
        harness.key, subject="user:a", tier=Tier.PRO, space_id=SPACE, now=time.time() - 120, ttl_s=60
    )
    assert schedule(harness.client(), expired)[0] is httpx.codes.UNAUTHORIZED
    # A Space cannot spend the quota of another Space's visitors by replaying their tokens.
    theirs = harness.token("user:a", Tier.PRO, space_id=SPACE)
    assert schedule(harness.client(OTHER), theirs)[0] is httpx.codes.UNAUTHORIZED


def test_no_gpu_of_the_size_asked_is_503(harness: Harness) -> None:
    assert (
        schedule(harness.client(), harness.token("user:a"), size="xlarge")[0]
        is httpx.codes.SERVICE_UNAVAILABLE
    )


def test_another_space_can_neither_attach_to_nor_release_a_lease(harness: Harness) -> None:
    res, _ = schedule(harness.client(), harness.token("user:a"))
    assert isinstance(res, ScheduleResponse)
    mallory = harness.client(OTHER)
    assert mallory.allow(res.allowToken, harness.worker()) is httpx.codes.NOT_FOUND
    assert mallory.release(res.allowToken) is httpx.codes.NOT_FOUND
    assert harness.client().release(res.allowToken) is httpx.codes.NO_CONTENT


def test_an_unknown_space_url_is_404_everywhere(harness: Harness) -> None:
    stranger = APIClient(httpx.Client(base_url=f"{harness.server.base_url}/not-a-secret", timeout=5))
    assert stranger.startup_report() is httpx.codes.NOT_FOUND
    assert schedule(stranger, None)[0] is httpx.codes.NOT_FOUND
    assert harness.client().startup_report() is httpx.codes.OK


def test_allow_accepts_only_processes_of_the_space(harness: Harness) -> None:
    res, _ = schedule(harness.client(), harness.token("user:a"))
    assert isinstance(res, ScheduleResponse)
    harness.workers.bind(SPACE, harness.worker())  # the Space's app is now that child alone
    outsider = harness.worker()
    assert harness.client().allow(res.allowToken, outsider) is httpx.codes.FORBIDDEN
    assert harness.client().allow(res.allowToken, 1) is httpx.codes.BAD_REQUEST
    # Never attached, so the release finds the device unused.
    assert harness.client().release(res.allowToken) is httpx.codes.NO_CONTENT


def test_a_call_past_its_duration_and_grace_has_its_worker_ended(harness: Harness) -> None:
    res, _ = schedule(harness.client(), harness.token("user:a"), duration=1)
    assert isinstance(res, ScheduleResponse)
    worker = harness.worker()
    harness.client().allow(res.allowToken, worker)
    child = harness.children[-1]
    assert child.wait(timeout=5) == -9
    (record,) = harness.records()
    assert record.outcome == "killed"
    assert record.gpu_s == pytest.approx(1 + SETTINGS.grace_s, abs=0.3)
    assert record.quota_s == 1
    assert harness.client().release(res.allowToken, fail=True) is httpx.codes.NOT_FOUND


def test_a_worker_that_dies_without_releasing_frees_its_gpu(harness: Harness) -> None:
    client = harness.client()
    first, _ = schedule(client, harness.token("user:a"), duration=60)
    second, _ = schedule(client, harness.token("user:b"), duration=60)
    assert isinstance(first, ScheduleResponse) and isinstance(second, ScheduleResponse)
    client.allow(first.allowToken, harness.worker())
    stream, _ = schedule(client, harness.token("user:c"))
    harness.children[-1].kill()
    harness.children[-1].wait()
    events = [next(stream)]
    while events[-1].event == "ping":
        events.append(next(stream))
    assert events[-1].event == "succeeded"
    (record,) = harness.records()
    assert record.outcome == "crashed"


def test_a_failed_release_ends_the_worker_and_a_good_one_keeps_it_for_the_next_call(harness: Harness) -> None:
    client = harness.client()
    res, _ = schedule(client, harness.token("user:a"))
    assert isinstance(res, ScheduleResponse)
    worker = harness.worker()
    client.allow(res.allowToken, worker)
    client.release(res.allowToken)
    again, _ = schedule(client, harness.token("user:b"))
    assert isinstance(again, ScheduleResponse)
    assert (again.idle, again.nvidiaIndex) == (True, res.nvidiaIndex)
    assert client.release(again.allowToken, fail=True) is httpx.codes.OK
    assert harness.children[-1].wait(timeout=5) == -9
    assert [r.outcome for r in harness.records(count=2)] == ["ok", "failed"]
