"""A private Space is invisible to everyone but its owner and admins: through the API, git and the proxy."""

from __future__ import annotations

from pathlib import Path

import httpx
from gradio_client import Client

from orchestrator.testing import ControlPlane, SpaceRepo, git


def test_private_space_answers_only_its_owner(plane: ControlPlane, tmp_path: Path) -> None:
    owner = plane.add_user("frank")
    stranger = plane.add_user("grace")
    plane.cli("create", "frank/secret", "--sdk", "gradio", "--private", token=owner)
    repo = SpaceRepo.from_example("gradio-hello", tmp_path / "secret", plane.git_url("frank/secret", owner))
    repo.commit_and_push("private hello")
    assert plane.wait_settled("frank/secret", owner, repo.head)["stage"] == "RUNNING"

    app = plane.app_url("frank", "secret")
    assert httpx.get(app, timeout=30).status_code == 404
    assert httpx.get(app, headers={"Authorization": f"Bearer {stranger}"}, timeout=30).status_code == 404
    assert httpx.get(app, headers={"Authorization": f"Bearer {owner}"}, timeout=30).status_code == 200
    assert (
        httpx.get(app, headers={"Authorization": f"Bearer {plane.admin_token}"}, timeout=30).status_code
        == 200
    )
    # gradio_client sends the token as X-HF-Authorization
    client = Client(app, token=owner, verbose=False)
    assert client.predict("Frank", api_name="/greet") == "Hello Frank!"

    # A browser signs in on the control plane; the app host gets its own cookie on the way back.
    with httpx.Client(follow_redirects=True, timeout=30, trust_env=False) as browser:
        page = browser.post(f"{plane.url}/login", data={"token": owner, "next": app + "?x=1"})
        assert page.status_code == 200
        assert page.url.host == "frank-secret.localhost" and page.url.query == b"x=1"
        assert browser.get(app).status_code == 200
        assert browser.get(plane.url + "/login", params={"next": app}).status_code == 200  # signed in
    with httpx.Client(follow_redirects=True, timeout=30, trust_env=False) as browser:
        assert browser.post(f"{plane.url}/login", data={"token": stranger, "next": app}).status_code == 404
        assert browser.post(f"{plane.url}/login", data={"token": "hf_wrong", "next": app}).status_code == 401
    forged = {"Cookie": "spaces_session=e30.AAAA"}
    assert httpx.get(app, headers=forged, timeout=30).status_code == 404

    assert plane.api("GET", "/api/spaces/frank/secret", stranger).status_code == 404
    assert plane.api("GET", "/api/spaces/frank/secret").status_code == 404
    assert plane.api("GET", "/api/spaces/frank/secret", owner).status_code == 200
    listed = [s["id"] for s in plane.api("GET", "/api/spaces", stranger).json()]
    assert "frank/secret" not in listed

    clone = git(
        "clone",
        "-q",
        plane.git_url("frank/secret", stranger),
        str(tmp_path / "c1"),
        cwd=tmp_path,
        check=False,
    )
    assert clone.returncode != 0
    git("clone", "-q", plane.git_url("frank/secret", owner), str(tmp_path / "c2"), cwd=tmp_path)
    assert (tmp_path / "c2" / "app.py").exists()
