"""Through the proxy: a Gradio generator's chunks arrive one by one, WebSockets work, and the app sees the
environment a Space gets on the Hub."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
from gradio_client import Client
from websockets.sync.client import connect

from orchestrator.testing import REPO_ROOT, ControlPlane, SpaceRepo, git


def test_generator_streams_and_websocket_echoes(plane: ControlPlane, tmp_path: Path) -> None:
    token = plane.add_user("carol")
    plane.cli("create", "carol/stream", "--sdk", "gradio", token=token)
    path = tmp_path / "stream"
    shutil.copytree(REPO_ROOT / "tests" / "fixtures" / "spaces" / "gradio-streaming", path)
    git("init", "-q", "-b", "main", cwd=path)
    git("remote", "add", "space", plane.git_url("carol/stream", token), cwd=path)
    repo = SpaceRepo(path, plane.git_url("carol/stream", token))
    repo.commit_and_push("streaming app")
    runtime = plane.wait_settled("carol/stream", token, repo.head)
    assert runtime["stage"] == "RUNNING", plane.logs("carol/stream", token)

    client = Client(plane.app_url("carol", "stream"), verbose=False)
    job = client.submit(4, api_name="/count")
    arrivals: list[float] = []
    seen: list[str] = []
    for output in job:
        arrivals.append(time.monotonic())
        seen.append(output)
    assert seen[-1] == "chunk 3"
    assert len(arrivals) >= 3
    assert arrivals[-1] - arrivals[0] >= 1.0, "chunks arrived all at once: the proxy buffered the stream"

    with connect(f"ws://carol-stream.localhost:{plane.port}/ws") as socket:
        socket.send("ping")
        assert socket.recv(timeout=10) == "echo: ping"
        socket.send("again")
        assert socket.recv(timeout=10) == "echo: again"

    env = httpx.get(plane.app_url("carol", "stream") + "env", timeout=30).json()
    assert env["SPACE_ID"] == "carol/stream"
    assert env["SPACE_AUTHOR_NAME"] == "carol" and env["SPACE_REPO_NAME"] == "stream"
    assert env["SPACE_HOST"] == f"carol-stream.localhost:{plane.port}"
    assert env["SYSTEM"] == "spaces"
    if plane.runtime == "container":
        assert env["uid"] == 1000
        assert env["GRADIO_SERVER_PORT"] == "7860"
