"""A real control plane for tests and benchmarks: a ``spaces serve`` process, the ``spaces`` CLI and ``git``.

Nothing is faked: the server runs in its own process with its own data directory and port, Spaces are
pushed with the git CLI, and apps are reached through the server's proxy at ``http://{sub}.localhost:PORT``
(``*.localhost`` resolves through nss-myhostname, which ``scripts/install.sh`` enables).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
SPACES_CLI = str(Path(sys.executable).parent / "spaces")
TRANSITIONAL = {"BUILDING", "RUNNING_BUILDING", "APP_STARTING", "RUNNING_APP_STARTING"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ControlPlane:
    """One ``spaces serve`` process and helpers to drive it as a user would."""

    data_dir: Path
    runtime: str
    port: int = field(default_factory=free_port)
    database_url: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)
    """More ``SPACES_*`` settings for the server (short sleep times in tests, for instance)."""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def domain(self) -> str:
        return f"localhost:{self.port}"

    @property
    def admin_token(self) -> str:
        return (self.data_dir / "admin_token").read_text().strip()

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "SPACES_DATA_DIR": str(self.data_dir),
            "SPACES_PORT": str(self.port),
            "SPACES_DOMAIN": self.domain,
            "SPACES_RUNTIME": self.runtime,
            "SPACES_URL": self.url,
            "SPACES_DRAIN_SECONDS": "5",
            "SPACES_DATABASE_URL": self.database_url,
            **self.extra_env,
            **extra,
        }

    def start(self, timeout: float = 60) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.data_dir / "server.log").open("ab")
        self.process = subprocess.Popen([SPACES_CLI, "serve"], env=self.env(), stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("spaces serve exited:\n" + (self.data_dir / "server.log").read_text())
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("spaces serve did not answer:\n" + (self.data_dir / "server.log").read_text())

    def kill(self) -> None:
        """Kill the control plane abruptly (SIGKILL), as a crash would."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def delete_all_spaces(self) -> None:
        """Delete every Space (stopping its instances, which outlive the control plane by design)."""
        for space in self.api("GET", "/api/spaces", self.admin_token).json():
            owner, name = space["id"].split("/")
            self.api(
                "DELETE",
                "/api/repos/delete",
                self.admin_token,
                json={"type": "space", "organization": owner, "name": name},
            )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    # ----- as a user -------------------------------------------------------------------------------------

    def cli(
        self, *args: str, token: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = self.env()
        env.pop("SPACES_TOKEN", None)
        env.pop("HF_TOKEN", None)
        if token:
            env["SPACES_TOKEN"] = token
        result = subprocess.run([SPACES_CLI, *args], env=env, capture_output=True, text=True, timeout=300)
        if check and result.returncode != 0:
            raise AssertionError(f"spaces {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def add_user(self, name: str) -> str:
        return self.cli("users", "add", name, token=self.admin_token).stdout.strip()

    def api(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)

    def runtime_of(self, space: str, token: str) -> dict[str, Any]:
        response = self.api("GET", f"/api/spaces/{space}/runtime", token)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def wait_for(
        self,
        space: str,
        token: str,
        until: Callable[[dict[str, Any]], bool],
        timeout: float = 300,
        seen: list[str] | None = None,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        runtime: dict[str, Any] = {}
        while time.monotonic() < deadline:
            runtime = self.runtime_of(space, token)
            if seen is not None and (not seen or seen[-1] != runtime["stage"]):
                seen.append(runtime["stage"])
            if until(runtime):
                return runtime
            time.sleep(0.2)
        raise AssertionError(
            f"{space} never reached the expected state; last: {json.dumps(runtime, indent=1)}\n"
            + self.logs(space, token)
        )

    def wait_settled(
        self, space: str, token: str, sha: str | None = None, timeout: float = 300
    ) -> dict[str, Any]:
        """Wait until the Space has dealt with ``sha`` (default: whatever was pushed last)."""
        return self.wait_for(
            space,
            token,
            lambda r: (
                r["stage"] not in TRANSITIONAL
                and (sha is None or r["sha"] == sha)
                and r.get("buildingSha") is None
            ),
            timeout,
        )

    def logs(self, space: str, token: str) -> str:
        build = self.cli("logs", space, "--build", "--no-follow", token=token, check=False).stdout
        run = self.cli("logs", space, "--no-follow", token=token, check=False).stdout
        return f"--- build log ---\n{build[-4000:]}\n--- run log ---\n{run[-4000:]}"

    def app_url(self, owner: str, name: str) -> str:
        return f"http://{owner}-{name}.localhost:{self.port}/"

    def git_url(self, space: str, token: str) -> str:
        return f"http://user:{token}@localhost:{self.port}/spaces/{space}"


def git(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_ASKPASS": "/bin/false",
        "SSH_ASKPASS": "/bin/false",
    }
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@dataclass
class SpaceRepo:
    """A local git working copy of a Space, pushed to the control plane like a user would."""

    path: Path
    remote: str

    @classmethod
    def from_example(cls, example: str, path: Path, remote: str) -> SpaceRepo:
        shutil.copytree(REPO_ROOT / "examples" / example, path)
        git("init", "-q", "-b", "main", cwd=path)
        git("remote", "add", "space", remote, cwd=path)
        return cls(path, remote)

    @classmethod
    def empty(cls, path: Path, remote: str) -> SpaceRepo:
        path.mkdir(parents=True)
        git("init", "-q", "-b", "main", cwd=path)
        git("remote", "add", "space", remote, cwd=path)
        return cls(path, remote)

    def write(self, relative: str, text: str) -> None:
        (self.path / relative).write_text(text)

    def commit_and_push(self, message: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        git("add", "-A", cwd=self.path)
        git("commit", "-q", "--allow-empty", "-m", message, cwd=self.path)
        return git("push", "-q", "space", "main", cwd=self.path, check=check)

    @property
    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.path).stdout.strip()
