"""The Hub's Space runtime calls of the real ``huggingface_hub`` client, on one Gradio Space uploaded
with the client and queried with ``gradio_client``: logs, variables and secrets, hardware, sleep time,
pause, restart, duplicate."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from huggingface_hub import HfApi, SpaceHardware
from huggingface_hub.errors import BadRequestError

from orchestrator.testing import REPO_ROOT, ControlPlane

from .conftest import start_control_plane

SPACE = "carol/env-demo"
APP = """import os

import gradio as gr


def greet(name: str) -> str:
    secret = "yes" if os.environ.get("SECRET_WORD") == "swordfish" else "no"
    return f"{os.environ.get('GREETING', 'Hello')} {name}! secret={secret}"


demo = gr.Interface(fn=greet, inputs="text", outputs="text", api_name="greet")

if __name__ == "__main__":
    demo.launch()
"""


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    control_plane = start_control_plane(tmp_path_factory, "process")
    yield control_plane
    control_plane.delete_all_spaces()
    control_plane.stop()


@pytest.fixture(scope="module")
def carol(plane: ControlPlane) -> HfApi:
    return HfApi(endpoint=plane.url, token=plane.add_user("carol"))


@pytest.fixture(scope="module")
def running(plane: ControlPlane, carol: HfApi, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("env-demo")
    (folder / "README.md").write_text((REPO_ROOT / "examples/gradio-hello/README.md").read_text())
    (folder / "app.py").write_text(APP)
    carol.create_repo(SPACE, repo_type="space", space_sdk="gradio")
    commit = carol.upload_folder(folder_path=folder, repo_id=SPACE, repo_type="space")
    assert plane.wait_settled(SPACE, str(carol.token), commit.oid)["stage"] == "RUNNING"
    return plane.app_url(*SPACE.split("/"))


def _eventually(check: Callable[[], bool], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # the app is restarting
            pass
        time.sleep(0.5)
    raise AssertionError("condition never became true")


def _greet(url: str) -> str:
    return str(Client(url, verbose=False).predict("Ann", api_name="/greet"))


def test_an_uploaded_space_builds_and_runs(carol: HfApi, running: str) -> None:
    assert _greet(running) == "Hello Ann! secret=no"
    runtime = carol.get_space_runtime(SPACE)
    assert runtime.stage == "RUNNING"
    assert runtime.hardware == "cpu-basic"
    assert runtime.sleep_time == 172800
    info = carol.space_info(SPACE)
    assert info.host is not None
    assert info.host.startswith("http://carol-env-demo.localhost")


def test_logs_stream_as_server_sent_events(carol: HfApi, running: str) -> None:
    build = list(carol.fetch_space_logs(SPACE, build=True))
    assert build
    run = list(carol.fetch_space_logs(SPACE))
    assert any("Running on" in line or "http" in line for line in run)


def test_variables_and_secrets_reach_the_app(plane: ControlPlane, carol: HfApi, running: str) -> None:
    variables = carol.add_space_variable(SPACE, "GREETING", "Hi", description="the greeting")
    assert variables["GREETING"].value == "Hi"
    carol.add_space_secret(SPACE, "SECRET_WORD", "swordfish", description="a secret")
    _eventually(lambda: _greet(running) == "Hi Ann! secret=yes")
    assert carol.get_space_variables(SPACE)["GREETING"].description == "the greeting"
    # secrets are never read back, nor written to logs
    listed = plane.api("GET", f"/api/spaces/{SPACE}/secrets", str(carol.token)).json()
    assert listed["SECRET_WORD"]["description"] == "a secret"
    assert "swordfish" not in str(listed)
    for path in (f"/api/spaces/{SPACE}", f"/api/spaces/{SPACE}/runtime", f"/api/spaces/{SPACE}/variables"):
        assert "swordfish" not in plane.api("GET", path, str(carol.token)).text
    assert "swordfish" not in "".join(carol.fetch_space_logs(SPACE))
    assert "swordfish" not in (plane.data_dir / "server.log").read_text(errors="replace")

    remaining = carol.delete_space_variable(SPACE, "GREETING")
    assert "GREETING" not in remaining
    carol.delete_space_secret(SPACE, "SECRET_WORD")
    carol.delete_space_secret(SPACE, "NEVER_SET")  # missing keys are fine, as on the Hub
    _eventually(lambda: _greet(running) == "Hello Ann! secret=no")


def test_hardware_and_sleep_time(carol: HfApi, running: str) -> None:
    runtime = carol.request_space_hardware(SPACE, SpaceHardware.CPU_BASIC)
    assert runtime.requested_hardware == "cpu-basic"
    with pytest.raises(BadRequestError, match="not available"):
        carol.request_space_hardware(SPACE, SpaceHardware.T4_SMALL)
    with pytest.warns(UserWarning):  # the client warns that cpu-basic sleeps after 48 h anyway
        runtime = carol.set_space_sleep_time(SPACE, 3600)
    assert runtime.sleep_time == 3600
    assert carol.get_space_runtime(SPACE).sleep_time == 3600


def test_pause_and_restart(plane: ControlPlane, carol: HfApi, running: str) -> None:
    assert carol.pause_space(SPACE).stage == "PAUSED"
    _eventually(lambda: carol.get_space_runtime(SPACE).stage == "PAUSED", timeout=60)
    carol.restart_space(SPACE)
    _eventually(lambda: _greet(running) == "Hello Ann! secret=no")
    carol.restart_space(SPACE, factory_reboot=True)
    _eventually(
        lambda: carol.get_space_runtime(SPACE).stage == "RUNNING" and _greet(running).startswith("Hello")
    )


def test_duplicate_copies_variables_not_secrets(plane: ControlPlane, carol: HfApi, running: str) -> None:
    carol.add_space_variable(SPACE, "GREETING", "Howdy")
    carol.add_space_secret(SPACE, "SECRET_WORD", "swordfish")
    copy = carol.duplicate_repo(SPACE, "carol/env-copy", repo_type="space", private=True)
    assert copy.repo_id == "carol/env-copy"
    assert carol.space_info("carol/env-copy").private is True
    assert carol.get_space_variables("carol/env-copy")["GREETING"].value == "Howdy"
    assert carol.list_repo_files("carol/env-copy", repo_type="space") == carol.list_repo_files(
        SPACE, repo_type="space"
    )
    assert plane.wait_settled("carol/env-copy", str(carol.token))["stage"] == "RUNNING"
    url = plane.app_url("carol", "env-copy")
    answer = Client(url, token=str(carol.token), verbose=False).predict("Ann", api_name="/greet")
    assert answer == "Howdy Ann! secret=no"


def test_a_moved_space_answers_at_its_new_address_only(plane: ControlPlane, carol: HfApi) -> None:
    carol.create_repo("carol/old.name", repo_type="space", space_sdk="gradio")  # no commit: no route
    old_url, new_url = plane.app_url("carol", "old-name"), plane.app_url("carol", "new-name")
    no_commit = "This Space has no commit yet"  # the describe page of a Space found by its address
    before = httpx.get(old_url, timeout=10)
    assert before.status_code == 503 and no_commit in before.json()["error"]
    carol.move_repo("carol/old.name", "carol/New_Name", repo_type="space")
    after = httpx.get(new_url, timeout=10)
    assert after.status_code == 503 and no_commit in after.json()["error"]
    gone = httpx.get(old_url, timeout=10)
    assert gone.status_code == 404 and "There is no Space at 'carol-old-name'" in gone.json()["error"]
    assert carol.space_info("carol/New_Name").subdomain == "carol-new-name"


def test_names_that_share_an_app_address_are_refused(plane: ControlPlane, carol: HfApi) -> None:
    carol.create_repo("carol/clash-app", repo_type="space", space_sdk="static")
    other = HfApi(endpoint=plane.url, token=plane.add_user("carol-clash"))
    with pytest.raises(BadRequestError, match=r"app address 'carol-clash-app'.*the Space carol/clash-app"):
        other.create_repo("carol-clash/app", repo_type="space", space_sdk="static")
    with pytest.raises(BadRequestError, match="app address 'carol-clash-app'"):
        carol.create_repo("carol/Clash_App", repo_type="space", space_sdk="static", exist_ok=True)
    other.create_repo("carol-clash/elsewhere", repo_type="space", space_sdk="static")
    with pytest.raises(BadRequestError, match="app address 'carol-clash-app'"):
        other.move_repo("carol-clash/elsewhere", "carol-clash/app", repo_type="space")
    assert other.space_info("carol-clash/elsewhere").subdomain == "carol-clash-elsewhere"


def test_example_script_exists() -> None:
    assert (Path(REPO_ROOT) / "examples/scripts/hub_client_flow.py").is_file()
