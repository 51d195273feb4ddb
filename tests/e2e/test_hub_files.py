"""The Hub's repository and file calls of the real ``huggingface_hub`` client against a control plane:
create/delete/move/settings, commits (regular and LFS), listing and downloading, and the Hub's errors."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationCopy,
    CommitOperationDelete,
    HfApi,
    RepoFile,
    SpaceHardware,
    constants,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import (
    BadRequestError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from orchestrator.testing import ControlPlane, git

from .conftest import start_control_plane


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    control_plane = start_control_plane(tmp_path_factory, "process")
    yield control_plane
    control_plane.delete_all_spaces()
    control_plane.stop()


@pytest.fixture(scope="module")
def alice(plane: ControlPlane) -> HfApi:
    return HfApi(endpoint=plane.url, token=plane.add_user("alice"))


@pytest.fixture(scope="module")
def bob(plane: ControlPlane) -> HfApi:
    return HfApi(endpoint=plane.url, token=plane.add_user("bob"))


@pytest.fixture(scope="module")
def files_space(alice: HfApi) -> str:
    alice.create_repo("alice/files", repo_type="space", space_sdk="static")
    return "alice/files"


def test_whoami(alice: HfApi) -> None:
    me = alice.whoami()
    assert me["name"] == "alice"
    assert me["type"] == "user"
    assert me["auth"]["accessToken"]["role"] == "write"


def test_whoami_with_a_bad_token(plane: ControlPlane) -> None:
    with pytest.raises(HfHubHTTPError) as info:
        HfApi(endpoint=plane.url, token="hf_" + "x" * 34).whoami()
    assert info.value.response.status_code == 401


def test_create_repo_and_exist_ok(plane: ControlPlane, alice: HfApi) -> None:
    url = alice.create_repo(
        "alice/created",
        repo_type="space",
        space_sdk="gradio",
        space_hardware=SpaceHardware.CPU_BASIC,
        space_sleep_time=3600,
        space_secrets=[{"key": "TOKEN", "value": "s3cret"}],
        space_variables=[{"key": "MODE", "value": "demo", "description": "how it runs"}],
        private=True,
    )
    assert url.repo_id == "alice/created"
    assert url.repo_type == "space"
    assert url.startswith(plane.url)
    info = alice.space_info("alice/created")
    assert info.private is True
    assert info.sdk == "gradio"
    runtime = alice.get_space_runtime("alice/created")
    assert runtime.sleep_time == 3600
    assert runtime.storage is None
    assert alice.get_space_variables("alice/created")["MODE"].value == "demo"
    assert "TOKEN" in alice.get_space_secrets("alice/created")

    with pytest.raises(HfHubHTTPError) as info_409:
        alice.create_repo("alice/created", repo_type="space", space_sdk="gradio")
    assert info_409.value.response.status_code == 409
    again = alice.create_repo("alice/created", repo_type="space", space_sdk="gradio", exist_ok=True)
    assert again.repo_id == "alice/created"


def test_create_repo_rejects_unoffered_hardware(alice: HfApi) -> None:
    with pytest.raises(BadRequestError, match="not available"):
        alice.create_repo(
            "alice/gpu", repo_type="space", space_sdk="gradio", space_hardware=SpaceHardware.A100_LARGE
        )


def test_upload_file_list_and_download(alice: HfApi, files_space: str, tmp_path: Path) -> None:
    info = alice.upload_file(
        path_or_fileobj=b"<h1>hello</h1>\n", path_in_repo="index.html", repo_id=files_space, repo_type="space"
    )
    assert len(info.oid) == 40
    alice.upload_file(
        path_or_fileobj=b"x = 1\n", path_in_repo="src/pkg/mod.py", repo_id=files_space, repo_type="space"
    )
    assert alice.list_repo_files(files_space, repo_type="space") == ["index.html", "src/pkg/mod.py"]
    local = hf_hub_download(
        files_space,
        "src/pkg/mod.py",
        repo_type="space",
        endpoint=alice.endpoint,
        token=alice.token,
        cache_dir=tmp_path / "cache",
    )
    assert Path(local).read_bytes() == b"x = 1\n"
    assert alice.space_info(files_space).sha == alice.space_info(files_space).sha  # stable
    siblings = [s.rfilename for s in alice.space_info(files_space).siblings or []]
    assert siblings == ["index.html", "src/pkg/mod.py"]


def test_create_commit_adds_deletes_and_copies(alice: HfApi, files_space: str) -> None:
    alice.upload_file(
        path_or_fileobj=b"a\n", path_in_repo="docs/a.txt", repo_id=files_space, repo_type="space"
    )
    head = alice.space_info(files_space).sha
    info = alice.create_commit(
        files_space,
        repo_type="space",
        operations=[
            CommitOperationAdd("docs/b.txt", b"b\n"),
            CommitOperationCopy("docs/a.txt", "copied/a.txt"),
            CommitOperationDelete("src/"),
        ],
        commit_message="several things",
        parent_commit=head,
    )
    files = alice.list_repo_files(files_space, repo_type="space")
    assert files == ["copied/a.txt", "docs/a.txt", "docs/b.txt", "index.html"]
    assert alice.space_info(files_space).sha == info.oid
    alice.delete_file("docs/b.txt", files_space, repo_type="space")
    assert "docs/b.txt" not in alice.list_repo_files(files_space, repo_type="space")

    with pytest.raises(HfHubHTTPError) as stale:
        alice.create_commit(
            files_space,
            repo_type="space",
            operations=[CommitOperationAdd("late.txt", b"late\n")],
            commit_message="too late",
            parent_commit=head,
        )
    assert stale.value.response.status_code == 412


def test_upload_folder_and_snapshot_download(alice: HfApi, tmp_path: Path) -> None:
    alice.create_repo("alice/folder", repo_type="space", space_sdk="static")
    source = tmp_path / "site"
    (source / "assets").mkdir(parents=True)
    (source / "index.html").write_text("<p>folder</p>\n")
    (source / "assets" / "style.css").write_text("p { color: red }\n")
    alice.upload_folder(folder_path=source, repo_id="alice/folder", repo_type="space")
    target = snapshot_download(
        "alice/folder",
        repo_type="space",
        endpoint=alice.endpoint,
        token=alice.token,
        local_dir=tmp_path / "snapshot",
    )
    assert (Path(target) / "assets" / "style.css").read_text() == "p { color: red }\n"
    assert (Path(target) / "index.html").read_text() == "<p>folder</p>\n"


def test_large_file_goes_through_lfs(
    plane: ControlPlane, alice: HfApi, files_space: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # hf_xet is installed: without this switch the client would upload large files with Xet.
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    blob = os.urandom(1024) * (11 * 1024)  # 11 MiB: over the 10 MiB regular-file limit
    path = tmp_path / "weights.bin"
    path.write_bytes(blob)
    alice.upload_file(
        path_or_fileobj=path, path_in_repo="weights.bin", repo_id=files_space, repo_type="space"
    )
    entry = next(f for f in alice.list_repo_tree(files_space, repo_type="space") if f.path == "weights.bin")
    assert isinstance(entry, RepoFile)
    assert entry.lfs is not None
    assert entry.lfs.sha256 == hashlib.sha256(blob).hexdigest()
    assert entry.size == len(blob)
    local = hf_hub_download(
        files_space,
        "weights.bin",
        repo_type="space",
        endpoint=alice.endpoint,
        token=alice.token,
        cache_dir=tmp_path / "cache",
    )
    assert Path(local).read_bytes() == blob
    # git sees a pointer file and the .gitattributes rule, as a git-lfs repo would have
    clone = tmp_path / "clone"
    git("clone", "-q", plane.git_url(files_space, str(alice.token)), str(clone), cwd=tmp_path)
    assert (clone / "weights.bin").read_text().startswith("version https://git-lfs.github.com/spec/v1")
    assert "weights.bin filter=lfs" in (clone / ".gitattributes").read_text()


def test_git_push_and_api_commits_share_history(plane: ControlPlane, alice: HfApi, tmp_path: Path) -> None:
    alice.create_repo("alice/mixed", repo_type="space", space_sdk="static")
    alice.upload_file(
        path_or_fileobj=b"api\n", path_in_repo="api.txt", repo_id="alice/mixed", repo_type="space"
    )
    clone = tmp_path / "mixed"
    git("clone", "-q", plane.git_url("alice/mixed", str(alice.token)), str(clone), cwd=tmp_path)
    assert (clone / "api.txt").read_text() == "api\n"
    (clone / "pushed.txt").write_text("git\n")
    git("add", "-A", cwd=clone)
    git("commit", "-q", "-m", "from git", cwd=clone)
    git("push", "-q", "origin", "main", cwd=clone)
    assert alice.list_repo_files("alice/mixed", repo_type="space") == ["api.txt", "pushed.txt"]
    runtime = plane.runtime_of("alice/mixed", str(alice.token))
    assert runtime["sha"] == git("rev-parse", "HEAD", cwd=clone).stdout.strip()


def test_errors_are_the_hubs(alice: HfApi, bob: HfApi, files_space: str, tmp_path: Path) -> None:
    with pytest.raises(RepositoryNotFoundError):
        alice.space_info("alice/does-not-exist")
    with pytest.raises(RevisionNotFoundError):
        alice.list_repo_files(files_space, repo_type="space", revision="nope")
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download(
            files_space,
            "missing.txt",
            repo_type="space",
            endpoint=alice.endpoint,
            token=alice.token,
            cache_dir=tmp_path / "cache",
        )
    with pytest.raises(HfHubHTTPError) as forbidden:
        bob.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=files_space, repo_type="space")
    assert forbidden.value.response.status_code == 403


def test_private_space_is_invisible_to_others(plane: ControlPlane, alice: HfApi, bob: HfApi) -> None:
    alice.create_repo("alice/hidden", repo_type="space", space_sdk="static", private=True)
    alice.upload_file(
        path_or_fileobj=b"hi\n", path_in_repo="index.html", repo_id="alice/hidden", repo_type="space"
    )
    for api in (bob, HfApi(endpoint=plane.url, token=False)):
        with pytest.raises(RepositoryNotFoundError):
            api.space_info("alice/hidden")
        with pytest.raises(RepositoryNotFoundError):
            api.list_repo_files("alice/hidden", repo_type="space")
    assert "alice/hidden" not in [s.id for s in bob.list_spaces()]
    alice.update_repo_settings("alice/hidden", repo_type="space", private=False)
    assert bob.space_info("alice/hidden").private is False
    assert "alice/hidden" in [s.id for s in bob.list_spaces(author="alice")]


def test_list_spaces_search_author_sort_limit(alice: HfApi, bob: HfApi) -> None:
    bob.create_repo("bob/listed-one", repo_type="space", space_sdk="static")
    bob.create_repo("bob/listed-two", repo_type="space", space_sdk="static")
    ids = [s.id for s in alice.list_spaces(author="bob", sort="created_at")]
    assert ids[:2] == ["bob/listed-two", "bob/listed-one"]
    assert [s.id for s in alice.list_spaces(search="listed-o")] == ["bob/listed-one"]
    assert len(list(alice.list_spaces(limit=1))) == 1
    assert all(s.author == "bob" for s in alice.list_spaces(author="bob"))


def test_move_and_delete_repo(alice: HfApi) -> None:
    alice.create_repo("alice/before", repo_type="space", space_sdk="static")
    alice.upload_file(
        path_or_fileobj=b"m\n", path_in_repo="index.html", repo_id="alice/before", repo_type="space"
    )
    alice.move_repo("alice/before", "alice/after", repo_type="space")
    with pytest.raises(RepositoryNotFoundError):
        alice.space_info("alice/before")
    assert alice.list_repo_files("alice/after", repo_type="space") == ["index.html"]
    alice.delete_repo("alice/after", repo_type="space")
    with pytest.raises(RepositoryNotFoundError):
        alice.space_info("alice/after")
    with pytest.raises(RepositoryNotFoundError):
        alice.delete_repo("alice/after", repo_type="space")
    alice.delete_repo("alice/after", repo_type="space", missing_ok=True)
