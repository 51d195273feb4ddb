"""Commits written with git plumbing (RepoStore.commit), LFS pointers materialised on export, and the
NDJSON commit payload."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from orchestrator.control.commits import AddLfsFile, parse_commit, upload_mode
from orchestrator.errors import InvalidInputError, PreconditionFailedError
from orchestrator.gitserver.lfs import Pointer, parse_pointer
from orchestrator.gitserver.repos import AddFile, Author, CopyFile, DeletePath, RepoStore

ME = Author("Test", "t@example.com")


def test_commits_apply_in_order_and_refuse_a_stale_parent(tmp_path: Path) -> None:
    repos = RepoStore(tmp_path)
    repos.create("alice", "app")
    first = repos.commit(
        "alice",
        "app",
        changes=[AddFile("a/x.txt", b"x"), AddFile("b.txt", b"b")],
        message="one",
        author=ME,
        parent=None,
    )
    second = repos.commit(
        "alice",
        "app",
        changes=[CopyFile("b.txt", first, "c.txt"), DeletePath("a", folder=True)],
        message="two",
        author=ME,
        parent=first,
    )
    assert repos.head("alice", "app") == second
    assert repos.list_files("alice", "app", second) == ["b.txt", "c.txt"]
    with pytest.raises(PreconditionFailedError):
        repos.commit("alice", "app", changes=[AddFile("d", b"d")], message="late", author=ME, parent=first)
    with pytest.raises(InvalidInputError):
        repos.commit("alice", "app", changes=[AddFile("../x", b"")], message="bad", author=ME, parent=second)


def test_export_materialises_lfs_files(tmp_path: Path) -> None:
    repos = RepoStore(tmp_path / "repos")
    repos.create("alice", "app")
    content = b"\0binary" * 1000
    oid = hashlib.sha256(content).hexdigest()
    repos.lfs.write(oid, len(content), [content])
    sha = repos.commit(
        "alice",
        "app",
        changes=[AddFile("model.bin", Pointer(oid, len(content)).render())],
        message="lfs",
        author=ME,
        parent=None,
    )
    [entry] = repos.tree("alice", "app", sha, recursive=True)
    assert entry.lfs == Pointer(oid, len(content))
    repos.export("alice", "app", sha, tmp_path / "out")
    assert (tmp_path / "out" / "model.bin").read_bytes() == content
    assert parse_pointer(repos.read_file("alice", "app", sha, "model.bin") or b"") == Pointer(
        oid, len(content)
    )


def test_lfs_store_refuses_content_that_is_not_the_object(tmp_path: Path) -> None:
    repos = RepoStore(tmp_path)
    with pytest.raises(InvalidInputError):
        repos.lfs.write("0" * 64, 3, [b"abc"])
    assert not repos.lfs.has("0" * 64)


def test_parse_commit_payload() -> None:
    lines = [
        {"key": "header", "value": {"summary": "s", "description": "d", "parentCommit": "abc"}},
        {
            "key": "file",
            "value": {"path": "a.txt", "content": base64.b64encode(b"hi").decode(), "encoding": "base64"},
        },
        {"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": "f" * 64, "size": 3}},
        {"key": "deletedFolder", "value": {"path": "old"}},
    ]
    request = parse_commit(json.dumps(line).encode() for line in lines)
    assert (request.summary, request.description, request.parent) == ("s", "d", "abc")
    assert request.changes == [
        AddFile("a.txt", b"hi"),
        AddLfsFile("w.bin", "f" * 64, 3),
        DeletePath("old", True),
    ]
    with pytest.raises(InvalidInputError, match="line 1"):
        parse_commit([b'{"key": "nope", "value": {}}'])
    assert upload_mode(10) == "regular"
    assert upload_mode(50 * 1024 * 1024) == "lfs"
