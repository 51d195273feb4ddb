"""Tests for the streamlit, static and docker builders, SDK detection and the static file server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from builders import (
    ConfigError,
    MemoryFiles,
    NoAppFileError,
    plan_build,
    render_containerfile,
)
from builders.docker import secret_ids
from builders.recipe import venv_spec
from builders.static import render_npm_install
from orchestrator.building.pipeline import launch_options, plan_record
from orchestrator.building.venv import VenvEngine
from orchestrator.logs import LogWriter
from orchestrator.proxy.static import content_type, resolve

GRADIO_APP = "import gradio as gr\n\ngr.Interface(lambda x: x, 'text', 'text').launch()\n"
STREAMLIT_APP = "import streamlit as st\n\nst.write('hi')\n"


def readme(*lines: str) -> str:
    return "---\n" + "\n".join(lines) + "\n---\n# Body\n"


# Streamlit


def test_streamlit_plan() -> None:
    plan = plan_build(
        MemoryFiles({"README.md": readme("sdk: streamlit", "sdk_version: 1.40.0"), "app.py": STREAMLIT_APP})
    )
    assert plan.kind == "python"
    assert plan.base_image == "localhost/spaces/streamlit:1.40.0-py3.11"
    assert plan.module == "streamlit"
    assert plan.module_args[:2] == ("run", "app.py")
    for flag in ("--server.headless", "--server.enableXsrfProtection", "--server.enableCORS"):
        assert flag in plan.module_args
    assert plan.env["STREAMLIT_SERVER_PORT"] == "7860"
    assert plan.preload == ("streamlit",)
    text = render_containerfile(plan)
    assert 'CMD ["python", "-m", "streamlit", "run", "app.py"' in text
    assert venv_spec(plan).packages == ("streamlit==1.40.0",)
    assert launch_options(plan_record(plan)) == {
        "module": "streamlit",
        "module_args": plan.module_args,
        "user": "1000",
    }


def test_streamlit_default_version_and_missing_app_file() -> None:
    plan = plan_build(MemoryFiles({"README.md": readme("sdk: streamlit"), "app.py": STREAMLIT_APP}))
    assert plan.sdk_version == "1.67.0"
    with pytest.raises(NoAppFileError, match=r"streamlit_app\.py"):
        plan_build(MemoryFiles({"README.md": readme("sdk: streamlit", "app_file: streamlit_app.py")}))


# Static


def test_static_plan_without_a_build() -> None:
    plan = plan_build(MemoryFiles({"README.md": readme("sdk: static"), "index.html": "<p>hi</p>"}))
    assert (plan.kind, plan.static_dir, plan.static_index, plan.build_command) == (
        "static",
        "",
        "index.html",
        None,
    )
    assert plan.base_image == ""


def test_static_plan_with_a_build_command() -> None:
    files = {
        "README.md": readme("sdk: static", "app_file: dist/index.html", "app_build_command: npm run build"),
        "package.json": "{}",
    }
    plan = plan_build(MemoryFiles(files))
    assert (plan.static_dir, plan.static_index, plan.build_command) == ("dist", "index.html", "npm run build")
    assert plan.base_image == "localhost/spaces/node:bookworm"
    assert "npm ci" in render_npm_install(plan.base_image, ("package.json", "package-lock.json"))


def test_static_dependencies_are_keyed_by_the_npm_files_only() -> None:
    readme_text = readme("sdk: static", "app_file: dist/index.html", "app_build_command: npm run build")
    files = {"README.md": readme_text, "package.json": "{}", "src/index.html": "<p>v1</p>"}
    first = plan_build(MemoryFiles(files)).deps_key
    app_only = plan_build(MemoryFiles({**files, "src/index.html": "<p>v2</p>"})).deps_key
    new_command = readme_text.replace("npm run build", "npm run build -- --prod")
    other_command = plan_build(MemoryFiles({**files, "README.md": new_command})).deps_key
    locked = plan_build(MemoryFiles({**files, "package-lock.json": "{}"})).deps_key
    npmrc = plan_build(MemoryFiles({**files, ".npmrc": "registry=http://x/"})).deps_key
    assert first == app_only == other_command
    assert len({first, locked, npmrc}) == 3


def test_static_missing_page_lists_html_files() -> None:
    files = {"README.md": readme("sdk: static"), "docs/page.html": "<p>x</p>"}
    with pytest.raises(NoAppFileError) as caught:
        plan_build(MemoryFiles(files))
    assert "'index.html' was not found" in caught.value.message
    assert "docs/page.html" in caught.value.message


# Docker


def test_docker_plan() -> None:
    dockerfile = (
        "FROM python:3.11\nRUN --mount=type=secret,id=HF_TOKEN,mode=0444 cat /run/secrets/HF_TOKEN\n"
        "RUN --mount=type=cache,target=/root/.cache pip install x\n"
    )
    plan = plan_build(
        MemoryFiles({"README.md": readme("sdk: docker", "app_port: 8501"), "Dockerfile": dockerfile})
    )
    assert (plan.kind, plan.port, plan.build_secrets) == ("docker", 8501, ("HF_TOKEN",))
    assert launch_options(plan_record(plan))["user"] is None


def test_secret_ids() -> None:
    text = "RUN --mount=type=secret,id=A --mount=id=B,type=secret x\nRUN --mount=type=secret,id=A y\n"
    assert secret_ids(text) == ("A", "B")


def test_docker_without_dockerfile() -> None:
    with pytest.raises(NoAppFileError, match="no Dockerfile") as caught:
        plan_build(MemoryFiles({"README.md": readme("title: x", "sdk: docker"), "app.py": ""}))
    assert caught.value.line == 3


def test_docker_on_the_process_runtime_is_a_config_error(tmp_path: Path) -> None:
    plan = plan_build(MemoryFiles({"README.md": readme("sdk: docker"), "Dockerfile": "FROM scratch\n"}))
    engine = VenvEngine(envs_dir=tmp_path / "envs")
    with LogWriter(tmp_path / "build.log") as log, pytest.raises(ConfigError) as caught:
        asyncio.run(engine.build(plan=plan, app_dir=tmp_path, image_repository="x/y", sha="0" * 40, log=log))
    assert "sdk: docker needs the container runtime" in caught.value.message
    assert caught.value.line == 2


# Detection


@pytest.mark.parametrize(
    ("files", "sdk", "clue"),
    [
        ({"Dockerfile": "FROM x\n", "app.py": GRADIO_APP}, "docker", "a Dockerfile"),
        ({"app.py": GRADIO_APP, "index.html": ""}, "gradio", "app.py imports gradio"),
        ({"app.py": STREAMLIT_APP}, "streamlit", "app.py imports streamlit"),
        ({"index.html": "<p>hi</p>"}, "static", "an index.html"),
    ],
)
def test_detection_when_no_sdk_is_named(files: dict[str, str], sdk: str, clue: str) -> None:
    plan = plan_build(MemoryFiles({"README.md": readme("title: x"), **files}))
    assert plan.sdk == sdk
    assert plan.notes[0] == f"README.md names no sdk; the repo has {clue}, so building it as sdk: {sdk}"


def test_named_sdk_wins_over_files() -> None:
    plan = plan_build(
        MemoryFiles({"README.md": readme("sdk: gradio"), "app.py": GRADIO_APP, "Dockerfile": ""})
    )
    assert plan.sdk == "gradio"
    assert plan.notes[0] == "sdk: gradio (README.md line 2)"


# Config errors a user meets


@pytest.mark.parametrize(
    ("lines", "fragment", "line"),
    [
        (("sdk: gradio", "app_port: 80.5"), "app_port must be a whole number", 3),
        (("sdk: streamlit", "sdk_version: [1, 2]"), "sdk_version must be a string, got a list", 3),
        (("sdk: flask",), "sdk must be one of gradio, streamlit, docker, static; got 'flask'", 2),
        (("sdk: 3",), "sdk must be a string, got the number 3", 2),
        (("sdk: static", "app_build_command: [npm]"), "app_build_command must be a string", 3),
        (("sdk: gradio", "preload_from_hub: gpt2"), "preload_from_hub must be a list of strings", 3),
        (("sdk: gradio", "preload_from_hub:", "  - a/b c d e"), "preload_from_hub items must be", 3),
        (("sdk: gradio", "fullWidth: wide"), "fullWidth must be true or false", 3),
        (("sdk: gradio", "header: big"), "header must be 'mini' or 'default'", 3),
    ],
)
def test_config_errors_name_key_and_line(lines: tuple[str, ...], fragment: str, line: int) -> None:
    with pytest.raises(ConfigError) as caught:
        plan_build(MemoryFiles({"README.md": readme(*lines), "app.py": GRADIO_APP}))
    assert fragment in caught.value.message
    assert caught.value.line == line


def test_unknown_keys_are_kept_as_warnings() -> None:
    plan = plan_build(MemoryFiles({"README.md": readme("sdk: gradio", "colour: red"), "app.py": GRADIO_APP}))
    assert plan.config.warnings == ["Unknown key 'colour' on line 3 is ignored"]


# The static file server


def test_resolve_stays_inside_the_folder(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "assets").mkdir(parents=True)
    (site / "main.html").write_text("m")
    (site / "assets" / "index.html").write_text("a")
    (site / ".git").mkdir()
    (site / ".git" / "config").write_text("secret")
    (tmp_path / "outside.txt").write_text("no")
    (site / "link").symlink_to(tmp_path / "outside.txt")
    assert resolve(site, "/", "main.html") == site / "main.html"
    assert resolve(site, "/assets/", "main.html") == site / "assets" / "index.html"
    for path in ("/../outside.txt", "/%2e%2e/outside.txt", "/link", "/.git/config", "/nope"):
        assert resolve(site, path, "main.html") is None, path
    assert content_type(site / "main.html") == b"text/html; charset=utf-8"
