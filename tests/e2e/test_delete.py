"""Deleting a Space stops everything it ran and removes its repo, images and containers."""

from __future__ import annotations

import time
from pathlib import Path

import docker
import httpx

from orchestrator.runtimes.engine import connect, find_engine
from orchestrator.testing import ControlPlane, SpaceRepo, git


def test_delete_removes_app_repo_and_runtime_leftovers(plane: ControlPlane, tmp_path: Path) -> None:
    token = plane.add_user("heidi")
    plane.cli("create", "heidi/brief", "--sdk", "gradio", token=token)
    repo = SpaceRepo.from_example("gradio-hello", tmp_path / "brief", plane.git_url("heidi/brief", token))
    repo.commit_and_push("hello")
    assert plane.wait_settled("heidi/brief", token, repo.head)["stage"] == "RUNNING"
    app = plane.app_url("heidi", "brief")
    assert httpx.get(app, timeout=30).status_code == 200
    time.sleep(2)  # let the warm standby start, so deletion must clean it up too

    plane.cli("delete", "heidi/brief", "--yes", token=token)
    assert httpx.get(app, timeout=30).status_code == 404
    assert plane.api("GET", "/api/spaces/heidi/brief", token).status_code == 404
    clone = git(
        "clone", "-q", plane.git_url("heidi/brief", token), str(tmp_path / "c"), cwd=tmp_path, check=False
    )
    assert clone.returncode != 0

    if plane.runtime == "container":
        url = find_engine()
        assert url is not None
        client: docker.DockerClient = connect(url)
        deadline = time.monotonic() + 30  # a standby that was still starting is removed when it is ready
        while time.monotonic() < deadline:
            left = client.containers.list(all=True, filters={"label": "spaces.space=heidi/brief"})
            if not left:
                break
            time.sleep(1)
        assert left == []
        assert client.images.list(name="localhost/spaces/heidi-brief") == []
