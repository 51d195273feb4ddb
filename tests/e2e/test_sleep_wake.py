"""Idle Spaces sleep and wake through the proxy: frozen first (thawed in milliseconds), then stopped
(started again on the next request, from a spare with Gradio already imported), with the app's answers
intact and one wake however many ask.

The control plane runs with sleep times of seconds (``SPACES_DEFAULT_SLEEP_TIME`` and friends).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from orchestrator.runtimes.container import ContainerRuntime
from orchestrator.testing import ControlPlane, SpaceRepo

SLEEPY = {
    "SPACES_DEFAULT_SLEEP_TIME": "2",
    "SPACES_SLEEP_CHECK_INTERVAL": "0.25",
    "SPACES_SLEEP_STOP_AFTER": "2",
    "SPACES_WAKE_HOLD_SECONDS": "120",
}


@pytest.fixture(scope="module", params=["process", pytest.param("container", marks=pytest.mark.container)])
def sleepy_plane(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ControlPlane]:
    if request.param == "container" and not ContainerRuntime.available():
        pytest.skip("no container engine answers (run scripts/install.sh to set up Podman)")
    plane = ControlPlane(
        data_dir=Path(tmp_path_factory.mktemp(f"sleepy-{request.param}")),
        runtime=request.param,
        extra_env=SLEEPY,
    )
    plane.start()
    yield plane
    plane.delete_all_spaces()
    plane.stop()


def _wakes(plane: ControlPlane, space: str) -> int:
    text = plane.api("GET", "/metrics", plane.admin_token).text
    match = re.search(rf'^spaces_wakes_total{{space="{re.escape(space)}"}} (\d+)$', text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def _greet(app: str, name: str) -> str:
    # Closed at once: an open client keeps a heartbeat stream open, and an open connection keeps a
    # Space awake.
    client = Client(app, verbose=False)
    try:
        return str(client.predict(name, api_name="/greet"))
    finally:
        client.close()


async def _concurrent_gets(url: str, count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=120, trust_env=False) as client:
        return list(await asyncio.gather(*(client.get(url) for _ in range(count))))


def test_idle_space_sleeps_and_wakes_on_request(sleepy_plane: ControlPlane, tmp_path: Path) -> None:
    plane = sleepy_plane
    token = plane.add_user("sam")
    plane.cli("create", "sam/dozy", "--sdk", "gradio", token=token)
    repo = SpaceRepo.from_example("gradio-hello", tmp_path / "dozy", plane.git_url("sam/dozy", token))
    repo.commit_and_push("hello")
    assert plane.wait_settled("sam/dozy", token, repo.head)["stage"] == "RUNNING"
    app = plane.app_url("sam", "dozy")
    assert _greet(app, "World") == "Hello World!"

    # Idle for its sleep time: frozen, still routed; a request thaws it at once.
    plane.wait_for("sam/dozy", token, lambda r: r["stage"] == "SLEEPING" and r["servingSha"], timeout=30)
    wakes = _wakes(plane, "sam/dozy")
    started = time.monotonic()
    assert httpx.get(app, timeout=30).status_code == 200
    thaw_seconds = time.monotonic() - started
    assert thaw_seconds < 2, thaw_seconds
    assert plane.runtime_of("sam/dozy", token)["stage"] == "RUNNING"
    assert _wakes(plane, "sam/dozy") == wakes + 1

    # Frozen long enough: stopped. Ten requests at once start one wake and all get the app's answer.
    plane.wait_for("sam/dozy", token, lambda r: r["stage"] == "SLEEPING" and not r["servingSha"], timeout=60)
    assert "\nspaces_spares 1\n" in plane.api("GET", "/metrics").text  # the one its wake will take
    wakes = _wakes(plane, "sam/dozy")
    responses = asyncio.run(_concurrent_gets(app, 10))
    assert [r.status_code for r in responses] == [200] * 10
    assert _wakes(plane, "sam/dozy") == wakes + 1
    assert plane.runtime_of("sam/dozy", token)["stage"] == "RUNNING"
    assert _greet(app, "Sam") == "Hello Sam!"
    # Without importing Gradio again: the spare started when it froze took the app.
    run_log = plane.cli("logs", "sam/dozy", "--no-follow", token=token).stdout
    assert "woken from a spare with gradio imported" in run_log, run_log[-2000:]

    # Its owner keeps it awake from now on.
    assert "never sleeps" in plane.cli("sleep-time", "sam/dozy", "never", token=token).stderr
    assert plane.runtime_of("sam/dozy", token)["gcTimeout"] is None
    assert httpx.get(app, timeout=30).status_code == 200  # wakes it if it fell asleep meanwhile
    time.sleep(3)
    assert plane.runtime_of("sam/dozy", token)["stage"] == "RUNNING"

    metrics = plane.api("GET", "/metrics").text
    assert 'spaces_requests_total{space="sam/dozy",code="2xx"}' in metrics
    assert 'spaces_stage{space="sam/dozy",stage="RUNNING"} 1' in metrics
