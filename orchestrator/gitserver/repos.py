"""Space repositories on disk: one bare git repository per Space, read and managed with the git CLI.

Owns the layout ``root/<owner>/<name>.git`` and every read of a repository's content (heads, files,
trees, exports, commit metadata), and the commits made without a push (the Hub's commit API), written
with git plumbing into a throwaway index. Each method is a few short ``git`` subprocesses; none of them
talk to the network or know about users and permissions (that is the caller's job). LFS pointer files
are materialised from ``orchestrator.gitserver.lfs`` on export, so a build sees the real content.

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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from orchestrator.errors import (
    ConflictError,
    EntryNotFoundError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    RevisionNotFoundError,
    SpacesError,
)
from orchestrator.gitserver.lfs import POINTER_MAX_SIZE, LfsStore, Pointer, parse_pointer

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


@dataclass(frozen=True)
class TreeEntry:
    """One file or folder of a commit's tree; ``lfs`` when the file is an LFS pointer."""

    path: str
    type: str  # "file" or "directory"
    oid: str
    size: int
    lfs: Pointer | None = None


@dataclass(frozen=True)
class AddFile:
    path: str
    content: bytes


@dataclass(frozen=True)
class DeletePath:
    path: str
    folder: bool = False


@dataclass(frozen=True)
class CopyFile:
    source_path: str
    source_revision: str
    path: str


Change = AddFile | DeletePath | CopyFile


@dataclass(frozen=True)
class Author:
    name: str
    email: str


class RepoStore:
    """The bare repositories of all Spaces under one folder, and their LFS objects."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # Owners and names start with a letter or digit, so ``.lfs`` can never be a Space's folder.
        self.lfs = LfsStore(root / ".lfs" / "objects")

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

    def copy_history(self, owner: str, name: str, source_owner: str, source_name: str) -> str | None:
        """Fill ``owner/name`` with every branch and its history from ``source_owner/source_name``;
        return the copy's ``main`` head (LFS objects are shared, being content-addressed)."""
        source = self._existing(source_owner, source_name)
        target = self._existing(owner, name)
        if self.head(source_owner, source_name) is not None:
            _run(["fetch", "--quiet", str(source), "+refs/heads/*:refs/heads/*"], repo=target)
        return self.head(owner, name)

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

    def resolve(self, owner: str, name: str, revision: str) -> str:
        """The commit sha ``revision`` (a branch, tag or sha) names; ``RevisionNotFoundError`` if none."""
        repo = self._existing(owner, name)
        return self._resolve(repo, owner, name, f"{_rev(revision)}^{{commit}}")

    def tree(self, owner: str, name: str, commit: str, path: str = "", *, recursive: bool) -> list[TreeEntry]:
        """The entries under folder ``path`` of ``commit`` (all the way down with ``recursive``), files
        with their blob size and, for LFS pointers, what they point to."""
        repo = self._existing(owner, name)
        tree = self._resolve(repo, owner, name, f"{_rev(commit)}^{{tree}}")
        prefix = path.strip("/")
        args = ["ls-tree", "-l", "-z", "--full-tree"]
        if recursive:
            args += ["-r", "-t"]
        args.append(f"{tree}:{prefix}" if prefix else tree)
        result = _run(args, repo=repo, check=False)
        if result.returncode != 0:
            raise EntryNotFoundError(f"Folder {prefix!r} not found in {owner}/{name} at {commit}.")
        entries: list[TreeEntry] = []
        for record in result.stdout.split(b"\0"):
            if not record:
                continue
            meta, _, raw_path = record.partition(b"\t")
            _mode, kind, oid, size = meta.decode().split()
            rel = raw_path.decode("utf-8", "surrogateescape")
            full = f"{prefix}/{rel}" if prefix else rel
            if kind == "tree":
                entries.append(TreeEntry(full, "directory", oid, 0))
            elif kind == "blob":
                entries.append(TreeEntry(full, "file", oid, int(size)))
        return self._with_lfs(repo, entries)

    def entry(self, owner: str, name: str, commit: str, path: str) -> TreeEntry:
        """The file or folder ``path`` of ``commit``; ``EntryNotFoundError`` if there is none."""
        parent = str(PurePosixPath(path.strip("/")).parent)
        for item in self.tree(owner, name, commit, "" if parent == "." else parent, recursive=False):
            if item.path == path.strip("/"):
                return item
        raise EntryNotFoundError(f"{path} not found in {owner}/{name} at {commit}.")

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
        for item in self.tree(owner, name, sha, recursive=True):
            if item.lfs is not None and self.lfs.has(item.lfs.oid):
                shutil.copyfile(self.lfs.path(item.lfs.oid), dest / item.path)

    # -- writing ----------------------------------------------------------------------------------

    def commit(
        self,
        owner: str,
        name: str,
        *,
        changes: Sequence[Change],
        message: str,
        author: Author,
        parent: str | None,
        branch: str = "main",
    ) -> str:
        """Commit ``changes`` on top of ``parent`` (the branch head the caller saw) and move ``branch``
        to it, only if it still points at ``parent``: a push or commit in between is never lost, the
        caller gets ``PreconditionFailedError`` instead. Returns the new commit's sha."""
        repo = self._existing(owner, name)
        with tempfile.TemporaryDirectory(prefix="spaces-commit-") as tmp:
            # Removing index entries wants a work tree: an empty one, which nothing reads or writes.
            (Path(tmp) / "work").mkdir()
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), "GIT_WORK_TREE": str(Path(tmp) / "work")}
            if parent is not None:
                _run(["read-tree", parent], repo=repo, env=env)
            for change in changes:
                self._stage(repo, owner, name, change, env)
            tree = _run(["write-tree"], repo=repo, env=env).stdout.decode().strip()
        stamp = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": author.name,
            "GIT_COMMITTER_EMAIL": author.email,
        }
        parents = ["-p", parent] if parent is not None else []
        sha = (
            _run(["commit-tree", tree, *parents], repo=repo, env=stamp, stdin=message.encode())
            .stdout.decode()
            .strip()
        )
        moved = _run(["update-ref", f"refs/heads/{branch}", sha, parent or "0" * 40], repo=repo, check=False)
        if moved.returncode != 0:
            raise PreconditionFailedError(
                f"A commit has happened on {branch} since {parent or 'the empty repository'}:"
                " refresh and try again."
            )
        return sha

    def _stage(self, repo: Path, owner: str, name: str, change: Change, env: dict[str, str]) -> None:
        if isinstance(change, AddFile):
            path = _check_path(change.path)
            oid = (
                _run(["hash-object", "-w", "--stdin"], repo=repo, stdin=change.content)
                .stdout.decode()
                .strip()
            )
            _run(["update-index", "--add", "--cacheinfo", f"100644,{oid},{path}"], repo=repo, env=env)
        elif isinstance(change, CopyFile):
            path = _check_path(change.path)
            source = self.resolve(owner, name, change.source_revision)
            found = _run(["ls-tree", "-z", source, "--", _check_path(change.source_path)], repo=repo)
            meta = found.stdout.split(b"\t", 1)[0].decode().split()
            if len(meta) != 3 or meta[1] != "blob":
                raise EntryNotFoundError(f"Cannot copy {change.source_path}: no such file at {source}.")
            _run(["update-index", "--add", "--cacheinfo", f"{meta[0]},{meta[2]},{path}"], repo=repo, env=env)
        else:
            path = _check_path(change.path)
            listed = _run(["ls-files", "-z", "--", f"{path}/" if change.folder else path], repo=repo, env=env)
            for staged in [p for p in listed.stdout.split(b"\0") if p]:
                _run(["update-index", "--force-remove", "--", staged.decode()], repo=repo, env=env)

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
            raise RevisionNotFoundError(f"Revision {rev.split('^')[0]!r} not found in {owner}/{name}.")
        return result.stdout.decode().strip()

    @staticmethod
    def _with_lfs(repo: Path, entries: list[TreeEntry]) -> list[TreeEntry]:
        """``entries`` with ``lfs`` set on the small files that are LFS pointers (one ``cat-file``)."""
        small = [e for e in entries if e.type == "file" and e.size <= POINTER_MAX_SIZE]
        if not small:
            return entries
        out = _run(["cat-file", "--batch"], repo=repo, stdin="".join(f"{e.oid}\n" for e in small).encode())
        pointers: dict[str, Pointer] = {}
        data, offset = out.stdout, 0
        for item in small:
            header_end = data.index(b"\n", offset)
            size = int(data[offset:header_end].split()[2])
            content = data[header_end + 1 : header_end + 1 + size]
            offset = header_end + 1 + size + 1
            pointer = parse_pointer(content)
            if pointer is not None:
                pointers[item.oid] = pointer
        return [
            TreeEntry(e.path, e.type, e.oid, e.size, pointers[e.oid]) if e.oid in pointers else e
            for e in entries
        ]


def _rev(commit: str) -> str:
    # A revision starting with '-' would be read by git as an option.
    if not commit or commit.startswith("-"):
        raise RevisionNotFoundError(f"Revision {commit!r} not found.")
    return commit


def _check_path(path: str) -> str:
    """A path inside a repository as the Hub accepts it: relative, no ``..``, nothing under ``.git``."""
    parts = path.strip("/").split("/")
    if not path.strip("/") or any(p in ("", ".", "..", ".git") for p in parts) or "\0" in path:
        raise InvalidInputError(f"Invalid path in repository: {path!r}.")
    return "/".join(parts)


def _run(
    args: list[str],
    *,
    repo: Path | None = None,
    check: bool = True,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    cmd = ["git", *([f"--git-dir={repo}"] if repo is not None else []), *args]
    result = subprocess.run(cmd, capture_output=True, env=git_env(**(env or {})), check=False, input=stdin)
    if check and result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip()
        raise SpacesError(f"git {args[0]} failed: {detail}")
    return result


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()
