"""Push app.py, get a live demo: the whole path a user takes, on each runtime.

Create a user and a Space with the CLI, ``git push`` the Gradio example, call it through the proxy with
``gradio_client``, push a change while a poller hammers the app (no request may fail), push a broken app
(the old version keeps answering), then kill and restart the control plane (the Space keeps running).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
from gradio_client import Client

from orchestrator.testing import ControlPlane, SpaceRepo


class Poller:
    """Requests the app's page in a loop and records every failure (a deploy must cause none)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.failures: list[str] = []
        self.requests = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                try:
                    response = client.get(self.url)
                    if response.status_code != 200:
                        self.failures.append(f"{response.status_code}: {response.text[:200]}")
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                self.requests += 1
                time.sleep(0.05)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def greet(url: str, name: str) -> str:
    client = Client(url, verbose=False)
    result: str = client.predict(name, api_name="/greet")
    return result


def test_push_change_break_and_survive_a_restart(plane: ControlPlane, tmp_path: Path) -> None:
    token = plane.add_user("alice")
    created = plane.cli("create", "alice/hello", "--sdk", "gradio", token=token).stdout
    assert f"{plane.url}/spaces/alice/hello" in created
    assert plane.app_url("alice", "hello") in created

    repo = SpaceRepo.from_example("gradio-hello", tmp_path / "hello", plane.git_url("alice/hello", token))
    repo.commit_and_push("Gradio hello")
    stages: list[str] = []
    runtime = plane.wait_for(
        "alice/hello",
        token,
        lambda r: r["stage"] not in {"NO_APP_FILE", "BUILDING", "APP_STARTING"},
        seen=stages,
    )
    assert runtime["stage"] == "RUNNING", plane.logs("alice/hello", token)
    assert "BUILDING" in stages or "APP_STARTING" in stages
    assert runtime["servingSha"] == repo.head
    app = plane.app_url("alice", "hello")
    assert greet(app, "World") == "Hello World!"

    status = plane.cli("status", "alice/hello", token=token).stdout
    assert "RUNNING" in status and repo.head[:7] in status
    assert "title: Gradio Hello" in status and "sdk_version: 6.31.0" in status

    # A second version: the first keeps serving until the second answers; no request fails.
    repo.write("app.py", (repo.path / "app.py").read_text().replace('f"Hello {name}!"', 'f"Hi {name}, v2"'))
    with Poller(app) as poller:
        repo.commit_and_push("v2")
        stages = []
        plane.wait_for("alice/hello", token, lambda r: r["servingSha"] == repo.head, seen=stages)
        time.sleep(1)
    assert {"RUNNING_BUILDING", "RUNNING_APP_STARTING"} & set(stages), stages
    assert poller.failures == [], poller.failures[:5]
    assert poller.requests > 10
    assert greet(app, "World") == "Hi World, v2"

    # A broken version: RUNTIME_ERROR with the traceback, and v2 still answers.
    good = repo.head
    repo.write("app.py", "import gradio as gr\n\nraise RuntimeError('boom at import')\n")
    repo.commit_and_push("broken")
    runtime = plane.wait_settled("alice/hello", token, repo.head)
    assert runtime["stage"] == "RUNTIME_ERROR"
    assert "boom at import" in runtime["errorMessage"]
    assert (
        "Traceback" in plane.cli("logs", "alice/hello", "--no-follow", token=token).stdout
        or "Traceback" in runtime["errorMessage"]
    )
    assert runtime["servingSha"] == good
    assert greet(app, "World") == "Hi World, v2"

    # Fix it again, then kill the control plane: the Space keeps running and comes back reachable.
    repo.write(
        "app.py",
        "import gradio as gr\n\n"
        "demo = gr.Interface(fn=lambda n: f'Hello again {n}', inputs='text', outputs='text',"
        " api_name='greet')\ndemo.launch()\n",
    )
    repo.commit_and_push("fixed")
    runtime = plane.wait_settled("alice/hello", token, repo.head)
    assert runtime["stage"] == "RUNNING", plane.logs("alice/hello", token)
    assert greet(app, "you") == "Hello again you"
    plane.kill()
    plane.start()
    runtime = plane.wait_settled("alice/hello", token)
    assert runtime["stage"] == "RUNNING"
    assert runtime["servingSha"] == repo.head
    assert greet(app, "back") == "Hello again back"
