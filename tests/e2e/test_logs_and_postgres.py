"""Build logs stream live to ``spaces logs --build``; the same control plane runs on PostgreSQL unchanged."""

from __future__ import annotations

import subprocess
from pathlib import Path

from orchestrator.testing import SPACES_CLI, ControlPlane, SpaceRepo


def test_build_log_streams_while_building(plane: ControlPlane, tmp_path: Path) -> None:
    token = plane.add_user("dave")
    plane.cli("create", "dave/logs", "--sdk", "gradio", token=token)
    repo = SpaceRepo.from_example("gradio-hello", tmp_path / "logs", plane.git_url("dave/logs", token))
    repo.commit_and_push("hello")
    follower = subprocess.Popen(
        [SPACES_CLI, "logs", "dave/logs", "--build"],
        env={**plane.env(), "SPACES_TOKEN": token},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert follower.stdout is not None
    first = follower.stdout.readline()
    assert "Build of dave/logs" in first
    rest = follower.stdout.read()  # ends by itself when the build ends
    assert follower.wait(120) == 0
    assert "Build succeeded" in rest
    runtime = plane.wait_settled("dave/logs", token, repo.head)
    assert runtime["stage"] == "RUNNING"


def test_control_plane_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    plane = ControlPlane(data_dir=tmp_path / "data", runtime="process", database_url=postgres_url)
    plane.start()
    try:
        token = plane.add_user("erin")
        plane.cli("create", "erin/pg", "--sdk", "gradio", token=token)
        repo = SpaceRepo.from_example("gradio-hello", tmp_path / "pg", plane.git_url("erin/pg", token))
        repo.commit_and_push("hello")
        assert plane.wait_settled("erin/pg", token, repo.head)["stage"] == "RUNNING"
        plane.kill()
        plane.start()
        assert plane.wait_settled("erin/pg", token, repo.head)["stage"] == "RUNNING"
        assert not (tmp_path / "data" / "spaces.db").exists()
    finally:
        plane.delete_all_spaces()
        plane.stop()
