"""Tests of the ``spaces`` CLI against a real HTTP server on a free port.

The server here is a STAND-IN: a small FastAPI app with canned answers for the few endpoints the CLI
calls, served by uvicorn in a background thread. It exists only because the real control plane
(``orchestrator.server``) is being written at the same time; once it exists, these tests should move
to it (integration tests use the real server). The stand-in answers in the real API's shapes:
``{"error": message}`` with a status code on failure, SSE ``data: {...}`` lines for logs.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse, StreamingResponse
from typer.testing import CliRunner

from orchestrator.cli.commands.logs import event_text
from orchestrator.cli.config import resolve
from orchestrator.cli.main import app as cli

ADMIN_TOKEN = "hf_admin_token"
ALICE_TOKEN = "hf_alice_token"
REPO_ROOT = Path(__file__).resolve().parents[2]
SHA_SERVING = "1111111111111111111111111111111111111111"
SHA_BUILDING = "2222222222222222222222222222222222222222"


# --- the stand-in control plane ------------------------------------------------------------------


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class StandIn:
    """What the stand-in was asked, and the stage sequences ``wait`` walks through."""

    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    stages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    log_gate: threading.Event = field(default_factory=threading.Event)

    def reset(self) -> None:
        self.requests.clear()
        self.log_gate.set()
        self.stages = {
            "alice/slow": [{"stage": "BUILDING"}, {"stage": "APP_STARTING"}, {"stage": "RUNNING"}],
            "alice/broken": [
                {"stage": "BUILDING"},
                {"stage": "BUILD_ERROR", "errorMessage": "pip install failed: no package 'nope'"},
            ],
            "alice/forever": [{"stage": "BUILDING"}],
        }


state = StandIn()


def space_info(space_id: str) -> dict[str, Any]:
    owner, name = space_id.split("/")
    sub = f"{owner}-{name}"
    return {
        "id": space_id,
        "author": owner,
        "sdk": "gradio",
        "sha": SHA_BUILDING,
        "private": False,
        "host": f"http://{sub}.localhost:8000/",
        "subdomain": sub,
        "gitUrl": f"http://localhost:8000/spaces/{space_id}",
        "cardData": {"title": "Hello"},
        "runtime": {
            "stage": "RUNNING_BUILDING",
            "hardware": {"current": "cpu-basic", "requested": "cpu-basic"},
            "errorMessage": None,
            "sha": SHA_BUILDING,
            "servingSha": SHA_SERVING,
            "buildingSha": SHA_BUILDING,
            "warnings": ["app.py binds 127.0.0.1; the proxy reaches it anyway"],
        },
    }


def stand_in_app() -> FastAPI:
    api = FastAPI()

    @api.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    def user(authorization: str | None = Header(default=None)) -> str:
        tokens = {f"Bearer {ADMIN_TOKEN}": "admin", f"Bearer {ALICE_TOKEN}": "alice"}
        if authorization not in tokens:
            raise ApiError(401, "Invalid or missing token")
        return tokens[authorization]

    def known(owner: str, name: str) -> str:
        if name == "nope":
            raise ApiError(404, f"Space {owner}/{name} not found")
        return f"{owner}/{name}"

    @api.get("/api/whoami-v2")
    def whoami(me: str = Depends(user)) -> dict[str, Any]:
        return {"type": "user", "name": me, "admin": me == "admin"}

    @api.post("/api/users")
    async def add_user(request: Request, me: str = Depends(user)) -> dict[str, Any]:
        body = await request.json()
        state.requests.append(("POST", "/api/users", body))
        if me != "admin":
            raise ApiError(403, "Only admins can add users")
        return {"name": body["name"], "token": f"hf_new_{body['name']}", "admin": body["admin"]}

    @api.post("/api/tokens")
    async def create_token(request: Request, me: str = Depends(user)) -> dict[str, Any]:
        body = await request.json()
        state.requests.append(("POST", "/api/tokens", body))
        return {"token": f"hf_{body['role']}_{me}", "role": body["role"]}

    @api.post("/api/repos/create")
    async def create_repo(request: Request, me: str = Depends(user)) -> dict[str, Any]:
        body = await request.json()
        state.requests.append(("POST", "/api/repos/create", body))
        space_id = f"{body['organization']}/{body['name']}"
        return {"url": f"http://localhost:8000/spaces/{space_id}", "name": space_id, "id": "1"}

    @api.delete("/api/repos/delete")
    async def delete_repo(request: Request, me: str = Depends(user)) -> dict[str, Any]:
        state.requests.append(("DELETE", "/api/repos/delete", await request.json()))
        return {}

    @api.get("/api/spaces")
    def list_spaces(author: str | None = None, me: str = Depends(user)) -> list[dict[str, Any]]:
        state.requests.append(("GET", "/api/spaces", {"author": author}))
        return [space_info("alice/hello"), {"id": "bob/bare"}]

    @api.get("/api/spaces/{owner}/{name}")
    def get_space(owner: str, name: str, me: str = Depends(user)) -> dict[str, Any]:
        return space_info(known(owner, name))

    @api.get("/api/spaces/{owner}/{name}/runtime")
    def runtime(owner: str, name: str, me: str = Depends(user)) -> dict[str, Any]:
        stages = state.stages[known(owner, name)]
        return stages.pop(0) if len(stages) > 1 else stages[0]

    @api.post("/api/spaces/{owner}/{name}/restart")
    def restart(owner: str, name: str, factory: bool = False, me: str = Depends(user)) -> dict[str, Any]:
        state.requests.append(("POST", f"/api/spaces/{owner}/{name}/restart", {"factory": factory}))
        return {}

    @api.get("/api/spaces/{owner}/{name}/logs/{kind}")
    def logs(owner: str, name: str, kind: str, follow: bool = True, me: str = Depends(user)) -> Any:
        known(owner, name)
        state.requests.append(("GET", f"logs/{kind}", {"follow": follow}))

        def event(text: str) -> str:
            return "data: " + json.dumps({"data": text, "timestamp": "2024-05-01T12:00:00Z"}) + "\n\n"

        async def events() -> AsyncIterator[str]:
            yield event(f"{kind} line 1\n")
            yield "data: \n\n"
            # Held back until the test has seen line 1: proves the CLI prints without buffering.
            for _ in range(500):
                if state.log_gate.is_set():
                    yield event(f"{kind} line 2\n")
                    return
                await asyncio.sleep(0.01)
            yield event("gate timed out: the first line was not printed on arrival\n")

        return StreamingResponse(events(), media_type="text/event-stream")

    return api


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(stand_in_app(), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the stand-in server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real token file, data dir or environment token leaks into a test."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SPACES_DATA_DIR", str(tmp_path / "data"))
    for name in ("SPACES_TOKEN", "HF_TOKEN", "SPACES_URL"):
        monkeypatch.delenv(name, raising=False)
    state.reset()


def spaces(url: str, *args: str, token: str | None = ALICE_TOKEN, input: str | None = None) -> Any:
    options = ["--url", url] + (["--token", token] if token else [])
    return CliRunner().invoke(cli, [*options, *args], input=input)


# --- tokens and users ----------------------------------------------------------------------------


def test_users_add_prints_only_the_token_on_stdout(server_url: str) -> None:
    result = spaces(server_url, "users", "add", "carol", "--admin", token=ADMIN_TOKEN)
    assert result.exit_code == 0, result.output
    assert result.stdout == "hf_new_carol\n"
    assert "Created admin user carol" in result.stderr
    assert state.requests == [("POST", "/api/users", {"name": "carol", "admin": True})]


def test_tokens_create_prints_only_the_token(server_url: str) -> None:
    result = spaces(server_url, "tokens", "create", "--role", "read", "--name", "ci")
    assert result.exit_code == 0, result.output
    assert result.stdout == "hf_read_alice\n"
    assert state.requests == [("POST", "/api/tokens", {"role": "read", "name": "ci"})]


def test_login_checks_and_saves_the_token_for_later_commands(server_url: str) -> None:
    result = spaces(server_url, "login", "--token", ALICE_TOKEN, token=None)
    assert result.exit_code == 0, result.output
    saved = Path.home() / ".config" / "spaces" / "token"
    assert saved.read_text().strip() == ALICE_TOKEN
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600

    whoami = spaces(server_url, "whoami", token=None)
    assert whoami.exit_code == 0, whoami.output
    assert whoami.stdout == "alice\n"
    assert str(saved) in whoami.stderr


def test_login_with_a_bad_token_saves_nothing(server_url: str) -> None:
    result = spaces(server_url, "login", "--token", "hf_wrong", token=None)
    assert result.exit_code == 1
    assert "rejected this token" in result.stderr
    assert not (Path.home() / ".config" / "spaces" / "token").exists()


def test_token_order_and_the_local_admin_token(monkeypatch: pytest.MonkeyPatch) -> None:
    admin_file = Path(os.environ["SPACES_DATA_DIR"]) / "admin_token"
    admin_file.parent.mkdir(parents=True)
    admin_file.write_text("hf_from_server\n")
    assert resolve("http://localhost:8000", None).credentials.token == "hf_from_server"
    assert resolve("http://spaces.example.org", None).credentials.token is None
    monkeypatch.setenv("HF_TOKEN", "hf_env_hf")
    assert resolve(None, None).credentials.token == "hf_env_hf"
    monkeypatch.setenv("SPACES_TOKEN", "hf_env_spaces")
    assert resolve(None, None).credentials.token == "hf_env_spaces"
    assert resolve(None, "hf_option").credentials.token == "hf_option"
    monkeypatch.setenv("SPACES_URL", "http://spaces.example.org/")
    assert resolve(None, None).url == "http://spaces.example.org"


# --- errors --------------------------------------------------------------------------------------


def test_server_error_is_a_red_line_not_a_traceback(server_url: str) -> None:
    result = spaces(server_url, "status", "alice/nope")
    assert result.exit_code == 1
    assert result.stderr == "Error: Space alice/nope not found\n"
    assert result.stdout == ""
    assert isinstance(result.exception, SystemExit)


def test_unauthorized_says_how_to_get_a_token(server_url: str) -> None:
    missing = spaces(server_url, "list", token=None)
    assert missing.exit_code == 1
    assert "Error: Invalid or missing token" in missing.stderr
    assert "No token found" in missing.stderr
    assert "spaces login --token" in missing.stderr

    wrong = spaces(server_url, "list", token="hf_wrong")
    assert "The token from --token was rejected" in wrong.stderr


def test_unreachable_control_plane(server_url: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    result = spaces(closed, "list")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: cannot reach the control plane at {closed}. Is it running?")
    assert "make up" in result.stderr


def test_bad_space_id_is_rejected_before_any_call(server_url: str) -> None:
    result = spaces(server_url, "status", "just-a-name")
    assert result.exit_code == 1
    assert "expected 'owner/name'" in result.stderr


# --- Spaces --------------------------------------------------------------------------------------


def test_create_prints_git_and_app_urls_and_how_to_push(server_url: str) -> None:
    result = spaces(server_url, "create", "alice/hello", "--sdk", "streamlit", "--private")
    assert result.exit_code == 0, result.output
    assert state.requests[0][2] == {
        "type": "space",
        "name": "hello",
        "organization": "alice",
        "sdk": "streamlit",
        "private": True,
        "hardware": "cpu-basic",
    }
    assert "Created alice/hello" in result.stdout
    assert "git:  http://localhost:8000/spaces/alice/hello" in result.stdout
    assert "app:  http://alice-hello.localhost:8000/" in result.stdout
    assert "git remote add space http://localhost:8000/spaces/alice/hello && git push space main" in (
        result.stdout
    )


def test_status_shows_stage_commits_warnings_and_urls(server_url: str) -> None:
    result = spaces(server_url, "status", "alice/hello")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.splitlines()[0] == "alice/hello  RUNNING_BUILDING"
    assert f"building: {SHA_BUILDING[:12]}" in out
    assert f"serving:  {SHA_SERVING[:12]}" in out
    assert "hardware: cpu-basic" in out
    assert "app.py binds 127.0.0.1" in out
    assert "http://alice-hello.localhost:8000/" in out
    assert "http://localhost:8000/spaces/alice/hello" in out


def test_status_json_is_the_servers_answer(server_url: str) -> None:
    result = spaces(server_url, "status", "alice/hello", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == space_info("alice/hello")


def test_list_tolerates_missing_fields(server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    result = spaces(server_url, "list", "--author", "alice")
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines[0] == ["ID", "SDK", "STAGE", "APP"]
    assert lines[1] == ["alice/hello", "gradio", "RUNNING_BUILDING", "http://alice-hello.localhost:8000/"]
    assert lines[2] == ["bob/bare", "-", "-", "-"]
    assert state.requests == [("GET", "/api/spaces", {"author": "alice"})]


def test_delete_and_restart(server_url: str) -> None:
    refused = spaces(server_url, "delete", "alice/hello", input="n\n")
    assert refused.exit_code != 0
    assert state.requests == []

    deleted = spaces(server_url, "delete", "alice/hello", "--yes")
    assert deleted.exit_code == 0, deleted.output
    restarted = spaces(server_url, "restart", "alice/hello", "--factory")
    assert restarted.exit_code == 0, restarted.output
    assert state.requests == [
        ("DELETE", "/api/repos/delete", {"name": "hello", "organization": "alice", "type": "space"}),
        ("POST", "/api/spaces/alice/hello/restart", {"factory": True}),
    ]


# --- wait ----------------------------------------------------------------------------------------


def test_wait_exits_0_once_running(server_url: str) -> None:
    result = spaces(server_url, "wait", "alice/slow")
    assert result.exit_code == 0, result.output
    assert "alice/slow: RUNNING" in result.stderr


def test_wait_exits_1_with_the_error_message(server_url: str) -> None:
    result = spaces(server_url, "wait", "alice/broken")
    assert result.exit_code == 1
    assert "alice/broken: BUILD_ERROR" in result.stderr
    assert "pip install failed: no package 'nope'" in result.stderr


def test_wait_gives_up_after_the_timeout(server_url: str) -> None:
    result = spaces(server_url, "wait", "alice/forever", "--timeout", "0.2")
    assert result.exit_code == 1
    assert "Error: alice/forever is still BUILDING after 0.2 s" in result.stderr


# --- logs ----------------------------------------------------------------------------------------


def test_event_text_skips_keep_alives_and_other_fields() -> None:
    assert event_text('data: {"data": "hello\\n", "timestamp": "x"}') == "hello\n"
    assert event_text("data:") is None
    assert event_text("data: ") is None
    assert event_text(": comment") is None
    assert event_text("event: message") is None
    assert event_text("data: not json") == "not json\n"


def test_logs_prints_the_data_of_each_event(server_url: str) -> None:
    result = spaces(server_url, "logs", "alice/hello", "--no-follow")
    assert result.exit_code == 0, result.output
    assert result.stdout == "run line 1\nrun line 2\n"
    assert state.requests == [("GET", "logs/run", {"follow": False})]

    build = spaces(server_url, "logs", "alice/hello", "--build")
    assert build.stdout == "build line 1\nbuild line 2\n"
    assert state.requests[-1] == ("GET", "logs/build", {"follow": True})


def test_logs_streams_each_line_as_it_arrives(server_url: str, tmp_path: Path) -> None:
    """The server holds line 2 back until this test has read line 1 from the CLI's stdout."""
    state.log_gate.clear()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "SPACES_TOKEN": ALICE_TOKEN}
    command = [sys.executable, "-m", "orchestrator", "--url", server_url, "logs", "alice/hello"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        state.log_gate.set()
        rest = proc.stdout.read()
        assert proc.wait(timeout=10) == 0
    assert first == "run line 1\n"
    assert rest == "run line 2\n"
