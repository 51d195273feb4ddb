"""A docker Space: the repo's Dockerfile built as it is, the Space's variables as build arguments, its
secrets as build secrets, the app on ``app_port`` running as the image's user. Container runtime only;
the process runtime refuses it with a clear message.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from orchestrator.testing import ControlPlane, SpaceRepo
from tests.e2e.conftest import start_control_plane

SECRET_STEP = (
    "RUN --mount=type=secret,id=BUILD_TOKEN,uid=1000 "
    'test "$(wc -c < /run/secrets/BUILD_TOKEN)" -eq 6 && echo build secret seen\n'
)


@pytest.fixture(scope="module")
def container_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    plane = start_control_plane(tmp_path_factory, "container")
    yield plane
    plane.delete_all_spaces()
    plane.stop()


@pytest.mark.container
def test_docker_space(container_plane: ControlPlane, tmp_path: Path) -> None:
    plane = container_plane
    token = plane.add_user("dora")
    plane.cli("create", "dora/box", "--sdk", "docker", token=token)
    headers = {"Authorization": f"Bearer {token}"}
    for kind, key, value in (("variables", "GREETING", "Ahoy"), ("secrets", "BUILD_TOKEN", "s3cret")):
        response = httpx.post(
            f"{plane.url}/api/spaces/dora/box/{kind}", json={"key": key, "value": value}, headers=headers
        )
        assert response.status_code == 200, response.text

    repo = SpaceRepo.from_example("docker-hello", tmp_path / "box", plane.git_url("dora/box", token))
    dockerfile = (repo.path / "Dockerfile").read_text()
    repo.write("Dockerfile", dockerfile.replace("USER user\n", SECRET_STEP + "USER user\n"))
    repo.commit_and_push("docker hello")
    runtime = plane.wait_settled("dora/box", token, repo.head)
    assert runtime["stage"] == "RUNNING", plane.logs("dora/box", token)

    answer = httpx.get(plane.app_url("dora", "box") + "hello?name=Sea", timeout=10).json()
    assert answer == {"message": "Ahoy Sea!", "user": "user"}
    build_log = plane.cli("logs", "dora/box", "--build", "--no-follow", token=token).stdout
    assert "build secret seen" in build_log
    assert "s3cret" not in build_log

    # A Dockerfile that does not build: BUILD_ERROR with the failing step; the old version keeps serving.
    repo.write("Dockerfile", dockerfile.replace("USER user\n", "RUN exit 7\nUSER user\n"))
    repo.commit_and_push("broken")
    runtime = plane.wait_settled("dora/box", token, repo.head)
    assert runtime["stage"] == "BUILD_ERROR"
    assert "exit 7" in runtime["errorMessage"] or "exit status 7" in runtime["errorMessage"]
    assert httpx.get(plane.app_url("dora", "box") + "hello", timeout=10).status_code == 200
