"""Space repositories on disk: one bare git repository per Space, read and managed with the git CLI.

Owns the layout ``root/<owner>/<name>.git`` and every read of a repository's content (heads, files,
exports, commit metadata). Each method is one or two short ``git`` subprocesses; none of them talk to
the network or know about users and permissions (that is the caller's job).

git runs with the operator's global and system configuration ignored, so that a server's behaviour
(filters such as git-lfs, hooks paths, signing) never depends on whoever started it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from orchestrator.errors import ConflictError, NotFoundError, SpacesError

_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class CommitInfo:
    """What a Space page shows about a commit."""

    sha: str
    message: str
    author: str
    date: datetime


def git_env(**extra: str) -> dict[str, str]:
    """The environment every git process of the server runs with: the caller's PATH, no user config."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }
    env.update(extra)
    return env


class RepoStore:
    """The bare repositories of all Spaces under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # -- layout and lifecycle -------------------------------------------------------------------

    def path(self, owner: str, name: str) -> Path:
        """Where ``owner/name`` lives on disk; ``NotFoundError`` for a name that cannot be a Space."""
        for part in (owner, name):
            if not _SAFE_PART.match(part) or ".." in part:
                raise NotFoundError(f"Repository {owner}/{name} not found.")
        return self.root / owner / f"{name}.git"

    def exists(self, owner: str, name: str) -> bool:
        try:
            return (self.path(owner, name) / "HEAD").is_file()
        except NotFoundError:
            return False

    def create(self, owner: str, name: str) -> Path:
        """Create an empty bare repository whose default branch is ``main`` and that accepts pushes."""
        path = self.path(owner, name)
        if path.exists():
            raise ConflictError(f"Repository {owner}/{name} already exists.")
        path.parent.mkdir(parents=True, exist_ok=True)
        # An empty template skips git's sample hooks: faster, and nothing runs on push but git itself.
        _run(["init", "--bare", "--quiet", "--template=", "--initial-branch=main", str(path)])
        for key, value in (
            ("http.receivepack", "true"),
            ("receive.denyNonFastForwards", "false"),
            ("uploadpack.allowFilter", "true"),
        ):
            _run(["config", key, value], repo=path)
        return path

    def delete(self, owner: str, name: str) -> None:
        path = self._existing(owner, name)
        shutil.rmtree(path)
        _remove_if_empty(path.parent)

    def rename(self, owner: str, name: str, new_owner: str, new_name: str) -> None:
        """Move a repository to a new id (a Space renamed or transferred to another owner)."""
        path = self._existing(owner, name)
        target = self.path(new_owner, new_name)
        if target.exists():
            raise ConflictError(f"Repository {new_owner}/{new_name} already exists.")
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
        _remove_if_empty(path.parent)

    # -- reading ----------------------------------------------------------------------------------

    def head(self, owner: str, name: str, branch: str = "main") -> str | None:
        """The commit sha at the tip of ``branch``, or ``None`` when the branch does not exist."""
        path = self._existing(owner, name)
        result = _run(
            ["rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}"], repo=path, check=False
        )
        return result.stdout.decode().strip() if result.returncode == 0 else None

    def read_file(self, owner: str, name: str, commit: str, path: str) -> bytes | None:
        """The content of file ``path`` at ``commit``; ``None`` when there is no such file or commit."""
        repo = self._existing(owner, name)
        result = _run(["cat-file", "blob", f"{_rev(commit)}:{path.lstrip('/')}"], repo=repo, check=False)
        return result.stdout if result.returncode == 0 else None

    def list_files(self, owner: str, name: str, commit: str) -> list[str]:
        """Every file path in ``commit``'s tree, recursively, in git's order."""
        repo = self._existing(owner, name)
        tree = self._resolve(repo, owner, name, f"{_rev(commit)}^{{tree}}")
        out = _run(["ls-tree", "-r", "-z", "--name-only", "--full-tree", tree], repo=repo).stdout
        return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]

    def export(self, owner: str, name: str, commit: str, dest: Path) -> None:
        """Write ``commit``'s files into the (empty or new) folder ``dest``, as a checkout would."""
        repo = self._existing(owner, name)
        sha = self._resolve(repo, owner, name, f"{_rev(commit)}^{{commit}}")
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="spaces-export-") as tmp:
            # A throwaway index: ``read-tree -u`` into it checks the whole tree out in one process.
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), "GIT_WORK_TREE": str(dest.resolve())}
            _run(["read-tree", "--reset", "-u", sha], repo=repo, env=env)

    def commit_info(self, owner: str, name: str, commit: str) -> CommitInfo:
        repo = self._existing(owner, name)
        sha = self._resolve(repo, owner, name, f"{_rev(commit)}^{{commit}}")
        out = _run(["show", "-s", "--format=%H%x00%an%x00%aI%x00%B", sha], repo=repo).stdout.decode()
        full_sha, author, date, message = out.split("\0", 3)
        return CommitInfo(
            sha=full_sha, message=message.rstrip("\n"), author=author, date=datetime.fromisoformat(date)
        )

    # -- helpers ----------------------------------------------------------------------------------

    def _existing(self, owner: str, name: str) -> Path:
        if not self.exists(owner, name):
            raise NotFoundError(f"Repository {owner}/{name} not found.")
        return self.path(owner, name)

    @staticmethod
    def _resolve(repo: Path, owner: str, name: str, rev: str) -> str:
        result = _run(["rev-parse", "--verify", "--quiet", rev], repo=repo, check=False)
        if result.returncode != 0:
            raise NotFoundError(f"Revision {rev.split('^')[0]!r} not found in {owner}/{name}.")
        return result.stdout.decode().strip()


def _rev(commit: str) -> str:
    # A revision starting with '-' would be read by git as an option.
    if not commit or commit.startswith("-"):
        raise NotFoundError(f"Revision {commit!r} not found.")
    return commit


def _run(
    args: list[str], *, repo: Path | None = None, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    cmd = ["git", *([f"--git-dir={repo}"] if repo is not None else []), *args]
    result = subprocess.run(cmd, capture_output=True, env=git_env(**(env or {})), check=False)
    if check and result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip()
        raise SpacesError(f"git {args[0]} failed: {detail}")
    return result


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()
