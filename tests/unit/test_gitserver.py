"""The git server end to end: real ``git`` CLI against the router served by uvicorn, no fakes."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from orchestrator.errors import ConflictError, NotFoundError
from orchestrator.gitserver.repos import RepoStore
from orchestrator.gitserver.smart_http import Decision, GitRequest, make_git_router

WRITE_TOKEN = "hf_write_token"
READ_TOKEN = "hf_read_token"
TOKENS = {WRITE_TOKEN: True, READ_TOKEN: False}  # token -> may write
NO_WRITE = "You don't have write access to this Space"


@dataclass
class Server:
    store: RepoStore
    port: int
    pushes: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)

    def url(self, repo: str, token: str | None = WRITE_TOKEN) -> str:
        auth = f"x:{token}@" if token else ""
        return f"http://{auth}127.0.0.1:{self.port}/spaces/{repo}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    store = RepoStore(tmp_path_factory.mktemp("repos"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    srv = Server(store=store, port=sock.getsockname()[1])

    async def authorize(req: GitRequest) -> Decision:
        if not store.exists(req.owner, req.name):
            return Decision.not_found()
        if req.token is None:
            return Decision.need_credentials() if req.write else Decision.allow()
        if req.token not in TOKENS:
            return Decision.need_credentials()
        if req.write and not TOKENS[req.token]:
            return Decision.deny(NO_WRITE)
        return Decision.allow(user="alice")

    async def on_push(owner: str, name: str, old: str | None, new: str | None) -> None:
        srv.pushes.append((owner, name, old, new))

    app = FastAPI()
    app.include_router(make_git_router(store=store, authorize=authorize, on_push=on_push))
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield srv
    uv.should_exit = True
    thread.join(5)
    sock.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Alice\n\temail = alice@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    monkeypatch.delenv("GIT_ASKPASS", raising=False)
    monkeypatch.delenv("SSH_ASKPASS", raising=False)
    return tmp_path


def git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=os.environ.copy())
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{result.stderr}")
    return result


def commit(work: Path, files: dict[str, str | bytes], message: str) -> str:
    for rel, content in files.items():
        target = work / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", message, cwd=work)
    return git("rev-parse", "HEAD", cwd=work).stdout.strip()


def last_push(server: Server) -> tuple[str, str, str | None, str | None]:
    return server.pushes[-1]


def clone(server: Server, repo: str, dest: Path, token: str | None = WRITE_TOKEN) -> Path:
    git("clone", "-q", server.url(repo, token), str(dest), cwd=dest.parent)
    return dest


def test_push_clone_and_read_back(server: Server, home: Path) -> None:
    server.store.create("alice", "hello")
    work = clone(server, "alice/hello", home / "work")  # empty repo
    assert server.store.head("alice", "hello") is None

    first = commit(work, {"app.py": "print('hi')\n", "README.md": "# hello\n"}, "first")
    git("push", "-q", "origin", "main", cwd=work)
    assert last_push(server) == ("alice", "hello", None, first)
    assert server.store.head("alice", "hello") == first

    second = commit(work, {"src/util.py": "X = 1\n"}, "second\n\nbody")
    git("push", "-q", "origin", "main", cwd=work)
    assert last_push(server) == ("alice", "hello", first, second)

    fresh = clone(server, "alice/hello.git", home / "fresh", token=None)  # anonymous read, .git suffix
    assert (fresh / "src" / "util.py").read_text() == "X = 1\n"
    assert (fresh / "app.py").read_text() == "print('hi')\n"

    store = server.store
    assert store.read_file("alice", "hello", second, "app.py") == b"print('hi')\n"
    assert store.read_file("alice", "hello", "main", "src/util.py") == b"X = 1\n"
    assert store.read_file("alice", "hello", second, "missing.txt") is None
    assert store.read_file("alice", "hello", first, "src/util.py") is None
    assert sorted(store.list_files("alice", "hello", second)) == ["README.md", "app.py", "src/util.py"]
    out = home / "export"
    store.export("alice", "hello", second, out)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "README.md",
        "app.py",
        "src/util.py",
    ]
    assert (out / "src" / "util.py").read_text() == "X = 1\n"
    info = store.commit_info("alice", "hello", second)
    assert (info.sha, info.message, info.author) == (second, "second\n\nbody", "Alice")
    assert info.date.tzinfo is not None
    with pytest.raises(NotFoundError):
        store.list_files("alice", "hello", "0" * 40)


def test_branch_push_is_stored_without_on_push(server: Server, home: Path) -> None:
    server.store.create("alice", "branches")
    work = clone(server, "alice/branches", home / "work")
    commit(work, {"a.txt": "a"}, "on main")
    git("push", "-q", "origin", "main", cwd=work)
    pushes = len(server.pushes)
    git("checkout", "-q", "-b", "dev", cwd=work)
    dev = commit(work, {"b.txt": "b"}, "on dev")
    git("push", "-q", "origin", "dev", cwd=work)
    assert len(server.pushes) == pushes
    assert server.store.head("alice", "branches", "dev") == dev


def test_force_push(server: Server, home: Path) -> None:
    server.store.create("alice", "force")
    work = clone(server, "alice/force", home / "work")
    first = commit(work, {"a.txt": "1"}, "one")
    second = commit(work, {"a.txt": "2"}, "two")
    git("push", "-q", "origin", "main", cwd=work)
    git("reset", "-q", "--hard", first, cwd=work)
    rewritten = commit(work, {"a.txt": "3"}, "three")
    assert git("push", "-q", "origin", "main", cwd=work, check=False).returncode != 0  # not fast-forward
    git("push", "-q", "--force", "origin", "main", cwd=work)
    assert last_push(server) == ("alice", "force", second, rewritten)
    assert server.store.read_file("alice", "force", "main", "a.txt") == b"3"


def test_push_without_credentials_fails(server: Server, home: Path) -> None:
    server.store.create("alice", "noauth")
    work = clone(server, "alice/noauth", home / "work", token=None)
    commit(work, {"a.txt": "a"}, "one")
    result = git("push", "origin", "main", cwd=work, check=False)
    assert result.returncode != 0
    assert server.store.head("alice", "noauth") is None


def test_push_with_read_token_is_refused_with_message(server: Server, home: Path) -> None:
    server.store.create("alice", "readonly")
    work = clone(server, "alice/readonly", home / "work", token=READ_TOKEN)
    commit(work, {"a.txt": "a"}, "one")
    result = git("push", "origin", "main", cwd=work, check=False)
    assert result.returncode != 0
    assert f"remote error: {NO_WRITE}" in result.stderr
    assert server.store.head("alice", "readonly") is None


def test_large_file(server: Server, home: Path) -> None:
    server.store.create("alice", "large")
    work = clone(server, "alice/large", home / "work")
    blob = os.urandom(10 * 1024 * 1024)
    sha = commit(work, {"weights.bin": blob}, "big")
    git("push", "-q", "origin", "main", cwd=work)
    assert last_push(server) == ("alice", "large", None, sha)
    assert server.store.read_file("alice", "large", sha, "weights.bin") == blob
    fresh = clone(server, "alice/large", home / "fresh")
    assert (fresh / "weights.bin").read_bytes() == blob


@pytest.mark.parametrize("version", ["0", "2"])
def test_fetch_with_gzipped_request_in_both_protocol_versions(
    server: Server, home: Path, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    # git gzips request bodies over 1 KiB: 30 distinct branch tips make a want list that large.
    name = f"many-v{version}"
    server.store.create("alice", name)
    work = clone(server, f"alice/{name}", home / "work")
    commit(work, {"a.txt": "main"}, "main")
    stream = "".join(
        f"commit refs/heads/b{i}\ncommitter A <a@x> {i} +0000\ndata <<END\nc{i}\nEND\n\n" for i in range(30)
    )
    subprocess.run(["git", "fast-import", "--quiet"], cwd=work, input=stream, text=True, check=True)
    git("push", "-q", "origin", "--all", cwd=work)
    monkeypatch.setenv("GIT_TRACE_CURL", "1")
    monkeypatch.setenv("GIT_TRACE_CURL_NO_DATA", "1")
    url = server.url(f"alice/{name}")
    result = git("-c", f"protocol.version={version}", "clone", "--no-checkout", url, "fresh", cwd=home)
    assert "Content-Encoding: gzip" in result.stderr
    assert ("Git-Protocol: version=2" in result.stderr) == (version == "2")
    assert len(git("branch", "-r", cwd=home / "fresh").stdout.splitlines()) == 32  # HEAD, main, b0..b29


def test_unknown_repo_is_not_found(server: Server, home: Path) -> None:
    result = git("clone", server.url("alice/nope"), str(home / "nope"), cwd=home, check=False)
    assert result.returncode != 0
    assert "not found" in result.stderr


def test_store_lifecycle(tmp_path: Path) -> None:
    store = RepoStore(tmp_path)
    path = store.create("bob", "app")
    assert path == tmp_path / "bob" / "app.git" and store.exists("bob", "app")
    assert store.head("bob", "app") is None
    with pytest.raises(ConflictError):
        store.create("bob", "app")
    store.rename("bob", "app", "carol", "renamed")
    assert not store.exists("bob", "app") and store.exists("carol", "renamed")
    assert not (tmp_path / "bob").exists()
    store.delete("carol", "renamed")
    assert not store.exists("carol", "renamed")
    with pytest.raises(NotFoundError):
        store.delete("carol", "renamed")
    with pytest.raises(NotFoundError):
        store.head("x", "y")
    assert not store.exists("..", "etc")
