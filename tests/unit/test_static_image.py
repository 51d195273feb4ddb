"""The pure parts of static builds on a container engine: what goes into the builder, how output is split."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from builders import MemoryFiles, plan_build
from builders.static import render_npm_install
from orchestrator.building.static_image import builder_name, npm_image, source_archive, split_lines


def test_static_source_archive_leaves_out_history_and_installed_packages(tmp_path: Path) -> None:
    for relative in (
        "package.json",
        "src/index.html",
        ".git/HEAD",
        "node_modules/x/index.js",
        "src/node_modules/y",
    ):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(relative)
    with tarfile.open(fileobj=io.BytesIO(source_archive(tmp_path))) as tar:
        members = {member.name: member for member in tar.getmembers()}
    assert set(members) == {"package.json", "src", "src/index.html", "src/node_modules", "src/node_modules/y"}
    assert {(member.uid, member.uname) for member in members.values()} == {(0, "root")}


def test_static_build_output_is_split_into_lines_as_they_complete() -> None:
    chunks = [
        b"> build\n> no",
        b"de build.mjs\r\n\n",
        "caf\u00e9 ".encode()[:4],
        "caf\u00e9 ".encode()[4:],
        b"done",
    ]
    assert list(split_lines(iter(chunks))) == ["> build", "> node build.mjs", "caf\u00e9 done"]


def test_static_npm_install_recipe_copies_only_the_npm_files() -> None:
    recipe = render_npm_install("localhost/spaces/node:bookworm", ("package.json", ".npmrc"))
    assert "COPY package.json .npmrc ./\n" in recipe and "COPY . " not in recipe
    with pytest.raises(ValueError):
        render_npm_install("localhost/spaces/node:bookworm", ("package-lock.json",))


def test_static_builder_is_named_after_the_space_and_packages_are_shared() -> None:
    assert builder_name("localhost/spaces/alice-site") == "spaces-build-alice-site"
    front_matter = "---\nsdk: static\napp_file: dist/index.html\napp_build_command: npm run build\n---\n"
    plan = plan_build(MemoryFiles({"README.md": front_matter, "package.json": "{}"}))
    assert npm_image(plan) == f"localhost/spaces/npm:{plan.deps_key[:16]}"
