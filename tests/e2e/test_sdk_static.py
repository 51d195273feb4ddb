"""A static Space with ``app_build_command``: pushed, built with Node.js, served by the proxy itself.

On the process runtime the build runs on the host, on the container runtime in the Node.js image; either
way no process serves the Space: the control plane serves the build's output folder.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from orchestrator.testing import ControlPlane, SpaceRepo


def test_static_space_with_a_build_command(plane: ControlPlane, tmp_path: Path) -> None:
    token = plane.add_user("sam")
    plane.cli("create", "sam/site", "--sdk", "static", token=token)
    repo = SpaceRepo.from_example("static-build", tmp_path / "site", plane.git_url("sam/site", token))
    repo.commit_and_push("static site")
    runtime = plane.wait_settled("sam/site", token, repo.head)
    assert runtime["stage"] == "RUNNING", plane.logs("sam/site", token)

    app = plane.app_url("sam", "site")
    page = httpx.get(app, timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Hello from a static Space" in page.text and "built with Node.js v" in page.text
    style = httpx.get(app + "assets/style.css", timeout=10)
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    again = httpx.get(app, headers={"If-None-Match": page.headers["etag"]}, timeout=10)
    assert again.status_code == 304
    assert httpx.head(app, timeout=10).headers["content-length"] == page.headers["content-length"]
    for missing in ("nope.html", "..%2F..%2Fetc%2Fpasswd", "src/index.html"):
        assert httpx.get(app + missing, timeout=10).status_code == 404, missing
    # Each request counted once, by its real status (2 pages and a HEAD, a 304, 3 misses).
    metrics = plane.api("GET", "/metrics", plane.admin_token).text
    counted = dict(
        re.findall(r'^spaces_requests_total\{space="sam/site",code="(\dxx)"\} (\d+)$', metrics, re.M)
    )
    assert counted == {"1xx": "0", "2xx": "3", "3xx": "1", "4xx": "3", "5xx": "0"}, counted
    sent = re.search(r'^spaces_sent_bytes_total\{space="sam/site"\} (\d+)$', metrics, re.M)
    assert sent is not None and int(sent.group(1)) >= len(page.content) + len(style.content)

    build_log = plane.cli("logs", "sam/site", "--build", "--no-follow", token=token).stdout
    assert "app_build_command: npm run build" in build_log
    # The engine installs the packages once per content of the npm files, for every Space that has them.
    assert "Installing the packages of package.json" in build_log or "Dependencies unchanged" in build_log
    assert "wrote dist/index.html" in build_log

    # An app-only push: the build command runs again on the new files; the packages are not reinstalled.
    page_source = (repo.path / "src/index.html").read_text()
    repo.write("src/index.html", page_source.replace("Hello from a static Space", "Hello again, rebuilt"))
    repo.commit_and_push("app-only change")
    runtime = plane.wait_settled("sam/site", token, repo.head)
    assert runtime["stage"] == "RUNNING", plane.logs("sam/site", token)
    assert "Hello again, rebuilt" in httpx.get(app, timeout=10).text
    build_log = plane.cli("logs", "sam/site", "--build", "--no-follow", token=token).stdout
    assert "wrote dist/index.html" in build_log
    assert "Dependencies unchanged (package.json)" in build_log
    assert "Installing the packages" not in build_log

    # A push that breaks the build: BUILD_ERROR, and the previous site keeps being served.
    repo.write("build.mjs", "process.exit(3);\n")
    repo.commit_and_push("broken build")
    runtime = plane.wait_settled("sam/site", token, repo.head)
    assert runtime["stage"] == "BUILD_ERROR", runtime
    assert "app_build_command" in runtime["errorMessage"]
    assert "Hello again, rebuilt" in httpx.get(app, timeout=10).text
