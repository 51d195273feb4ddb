"""Bad input gets a clear error and loses nothing: each case as a user meets it, on a real control plane."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from orchestrator.testing import ControlPlane, SpaceRepo, git

README = "---\nsdk: gradio\nsdk_version: 6.31.0\napp_file: app.py\n{extra}---\n# test\n"
APP = (
    "import gradio as gr\n\ngr.Interface(fn=lambda n: f'Hello {n}', inputs='text', outputs='text').launch()\n"
)


@pytest.fixture(scope="module")
def alice(plane: ControlPlane) -> str:
    return plane.add_user("alice")


def new_space(plane: ControlPlane, token: str, name: str, tmp_path: Path) -> SpaceRepo:
    plane.cli("create", f"alice/{name}", "--sdk", "gradio", token=token)
    return SpaceRepo.empty(tmp_path / name, plane.git_url(f"alice/{name}", token))


def test_push_needs_a_write_token(plane: ControlPlane, alice: str, tmp_path: Path) -> None:
    plane.cli("create", "alice/guarded", "--sdk", "gradio", token=alice)
    anonymous = SpaceRepo.empty(tmp_path / "anon", f"http://localhost:{plane.port}/spaces/alice/guarded")
    anonymous.write("app.py", APP)
    result = anonymous.commit_and_push("no token", check=False)
    assert result.returncode != 0
    assert "Authentication failed" in result.stderr or "could not read Username" in result.stderr

    read_token = plane.cli("tokens", "create", "--role", "read", token=alice).stdout.strip()
    reader = SpaceRepo.empty(tmp_path / "reader", plane.git_url("alice/guarded", read_token))
    reader.write("app.py", APP)
    result = reader.commit_and_push("read token", check=False)
    assert result.returncode != 0
    assert "read-only" in result.stderr and "write token" in result.stderr

    bob = plane.add_user("bob")
    other = SpaceRepo.empty(tmp_path / "bob", plane.git_url("alice/guarded", bob))
    other.write("app.py", APP)
    result = other.commit_and_push("not mine", check=False)
    assert result.returncode != 0 and "write access to alice/guarded" in result.stderr
    assert plane.runtime_of("alice/guarded", alice)["sha"] is None  # nothing landed


def test_readme_without_front_matter_is_a_config_error(
    plane: ControlPlane, alice: str, tmp_path: Path
) -> None:
    repo = new_space(plane, alice, "nofront", tmp_path)
    repo.write("README.md", "# Just a title\n")
    repo.write("app.py", APP)
    repo.commit_and_push("no front matter")
    runtime = plane.wait_settled("alice/nofront", alice, repo.head)
    assert runtime["stage"] == "CONFIG_ERROR"
    assert "README.md" in runtime["errorMessage"] and "---" in runtime["errorMessage"]


def test_invalid_yaml_names_the_line(plane: ControlPlane, alice: str, tmp_path: Path) -> None:
    repo = new_space(plane, alice, "badyaml", tmp_path)
    repo.write("README.md", "---\nsdk: gradio\ntitle: [unclosed\napp_file: app.py\n---\n")
    repo.write("app.py", APP)
    repo.commit_and_push("bad yaml")
    runtime = plane.wait_settled("alice/badyaml", alice, repo.head)
    assert runtime["stage"] == "CONFIG_ERROR"
    assert "README.md line" in runtime["errorMessage"], runtime["errorMessage"]


def test_wrong_type_names_key_and_line(plane: ControlPlane, alice: str, tmp_path: Path) -> None:
    repo = new_space(plane, alice, "badtype", tmp_path)
    repo.write("README.md", "---\nsdk: gradio\napp_file: app.py\nsdk_version: [5, 6]\n---\n")
    repo.write("app.py", APP)
    repo.commit_and_push("wrong type")
    runtime = plane.wait_settled("alice/badtype", alice, repo.head)
    assert runtime["stage"] == "CONFIG_ERROR"
    assert "line 4" in runtime["errorMessage"] and "sdk_version" in runtime["errorMessage"]


def test_invalid_python_version_names_key_and_line(plane: ControlPlane, alice: str, tmp_path: Path) -> None:
    repo = new_space(plane, alice, "badpython", tmp_path)
    repo.write("README.md", "---\nsdk: gradio\napp_file: app.py\npython_version: banana\n---\n")
    repo.write("app.py", APP)
    repo.commit_and_push("bad python_version")
    runtime = plane.wait_settled("alice/badpython", alice, repo.head)
    assert runtime["stage"] == "CONFIG_ERROR"
    message = runtime["errorMessage"]
    assert "line 4" in message and "python_version must be a version like 3.11, got 'banana'" in message


def test_missing_app_file(plane: ControlPlane, alice: str, tmp_path: Path) -> None:
    repo = new_space(plane, alice, "noapp", tmp_path)
    repo.write("README.md", README.format(extra=""))
    repo.commit_and_push("readme only")
    runtime = plane.wait_settled("alice/noapp", alice, repo.head)
    assert runtime["stage"] == "NO_APP_FILE"
    assert "app.py" in runtime["errorMessage"]


def test_failing_requirements_is_a_build_error_with_the_installer_output(
    plane: ControlPlane, alice: str, tmp_path: Path
) -> None:
    repo = new_space(plane, alice, "badreq", tmp_path)
    repo.write("README.md", README.format(extra=""))
    repo.write("app.py", APP)
    repo.write("requirements.txt", "this-package-does-not-exist-spaces-orchestrator==1.0\n")
    repo.commit_and_push("bad requirements")
    runtime = plane.wait_settled("alice/badreq", alice, repo.head)
    assert runtime["stage"] == "BUILD_ERROR"
    assert "requirements.txt" in runtime["errorMessage"]
    build_log = plane.cli("logs", "alice/badreq", "--build", "--no-follow", token=alice).stdout
    assert "this-package-does-not-exist-spaces-orchestrator" in build_log


def test_app_that_never_opens_its_port_times_out(plane: ControlPlane, alice: str, tmp_path: Path) -> None:
    repo = new_space(plane, alice, "silent", tmp_path)
    repo.write("README.md", README.format(extra="startup_duration_timeout: 8s\n"))
    repo.write("app.py", "import time\n\nprint('thinking forever', flush=True)\ntime.sleep(3600)\n")
    repo.commit_and_push("never listens")
    runtime = plane.wait_settled("alice/silent", alice, repo.head)
    assert runtime["stage"] == "RUNTIME_ERROR"
    assert "startup_duration_timeout" in runtime["errorMessage"]
    assert "thinking forever" in runtime["errorMessage"]


def test_unknown_hardware_and_sdk_are_refused(plane: ControlPlane, alice: str) -> None:
    result = plane.cli(
        "create", "alice/fast", "--sdk", "gradio", "--hardware", "t4-small", token=alice, check=False
    )
    assert result.returncode == 1 and "not available on this server" in result.stderr
    result = plane.cli("create", "alice/weird", "--sdk", "rails", token=alice, check=False)
    assert result.returncode == 1 and "Unknown SDK" in result.stderr


def test_git_clone_sees_what_was_pushed(plane: ControlPlane, alice: str, tmp_path: Path) -> None:
    repo = new_space(plane, alice, "cloned", tmp_path)
    repo.write("README.md", README.format(extra=""))
    repo.commit_and_push("readme")
    git(
        "clone",
        "-q",
        f"http://localhost:{plane.port}/spaces/alice/cloned",
        str(tmp_path / "clone"),
        cwd=tmp_path,
    )
    assert (tmp_path / "clone" / "README.md").read_text() == README.format(extra="")


CRASHES_LATER = """import os
import time

import gradio as gr

demo = gr.Interface(fn=lambda n: f"Hello {n}", inputs="text", outputs="text")
demo.launch(prevent_thread_lock=True)
time.sleep(8)
print("giving up now", flush=True)
os._exit(3)
"""


def test_app_that_crashes_stays_in_runtime_error_until_restarted(
    plane: ControlPlane, alice: str, tmp_path: Path
) -> None:
    repo = new_space(plane, alice, "crashy", tmp_path)
    repo.write("README.md", README.format(extra=""))
    repo.write("app.py", CRASHES_LATER)
    repo.commit_and_push("crashes after a few seconds")
    plane.wait_for("alice/crashy", alice, lambda r: r["stage"] == "RUNNING", timeout=300)
    runtime = plane.wait_for("alice/crashy", alice, lambda r: r["stage"] == "RUNTIME_ERROR", timeout=60)
    assert "exit code 3" in runtime["errorMessage"] and "giving up now" in runtime["errorMessage"]
    time.sleep(4)  # no restart loop: it stays in error until someone acts
    assert plane.runtime_of("alice/crashy", alice)["stage"] == "RUNTIME_ERROR"

    plane.cli("restart", "alice/crashy", token=alice)
    plane.wait_for("alice/crashy", alice, lambda r: r["stage"] == "RUNNING", timeout=300)
