"""Tests for ``python_version``: which base image a plan picks, the engine's list of Pythons, and
where runtime-images/ gets each version from (pythons.sh)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from builders import BuildOptions, ConfigError, MemoryFiles, parse_space_config, plan_build
from builders.base import BuildPlan
from orchestrator.building.engines import BuildEngine
from orchestrator.building.pipeline import BuildPipeline
from orchestrator.building.pythons import python_versions_in
from orchestrator.logs import LogWriter
from orchestrator.runtimes.base import Artifact

PYTHONS_SH = Path(__file__).resolve().parents[2] / "runtime-images" / "pythons.sh"
BOTH = BuildOptions(available_pythons=("3.11", "3.13"))
GRADIO_APP = "import gradio as gr\n\ngr.Interface(lambda x: x, 'text', 'text').launch()\n"
STREAMLIT_APP = "import streamlit as st\n\nst.write('hi')\n"


def space(sdk: str, *lines: str) -> MemoryFiles:
    readme = "---\n" + "\n".join([f"sdk: {sdk}", *lines]) + "\n---\n"
    app = GRADIO_APP if sdk == "gradio" else STREAMLIT_APP
    return MemoryFiles({"README.md": readme, "app.py": app})


def plan_for(*lines: str, sdk: str = "gradio", options: BuildOptions = BOTH) -> BuildPlan:
    return plan_build(space(sdk, "sdk_version: 6.31.0", *lines), options)


@pytest.mark.parametrize("sdk", ["gradio", "streamlit"])
def test_an_available_version_gets_its_own_base_images(sdk: str) -> None:
    plan = plan_for('python_version: "3.13"', sdk=sdk)
    assert plan.python_version == "3.13"
    assert plan.base_image == f"localhost/spaces/{sdk}:6.31.0-py3.13"
    assert plan.sdk_base_recipe is not None
    assert plan.sdk_base_recipe.python_image == "localhost/spaces/python:3.13"
    assert "Python 3.13" in plan.notes
    assert not any("requested" in note for note in plan.notes)


def test_the_python_is_part_of_the_dependency_key() -> None:
    assert plan_for("python_version: 3.13").deps_key != plan_for("python_version: 3.11").deps_key


def test_unquoted_version_and_patch_release() -> None:
    assert plan_for("python_version: 3.13").python_version == "3.13"
    plan = plan_for("python_version: 3.13.2")
    assert plan.python_version == "3.13"
    assert "python_version 3.13.2 requested; using Python 3.13" in plan.notes


@pytest.mark.parametrize(
    ("requested", "used"),
    [("3.10", "3.11"), ("3.9", "3.11"), ("3.12", "3.11"), ("3.14", "3.13")],
)
def test_a_missing_version_falls_back_to_the_nearest_and_says_so(requested: str, used: str) -> None:
    plan = plan_for(f'python_version: "{requested}"')
    assert plan.python_version == used
    assert plan.base_image.endswith(f"-py{used}")
    assert f"python_version {requested} requested; this server has 3.11, 3.13; using {used}" in plan.notes


def test_not_set_uses_the_nearest_to_the_hubs_default() -> None:
    plan = plan_for()
    assert plan.python_version == "3.11"
    assert "python_version not set (the Hub's default is 3.10); this server has 3.11, 3.13; using 3.11" in (
        plan.notes
    )


def test_a_server_with_only_the_newer_python_uses_it() -> None:
    plan = plan_for('python_version: "3.10"', options=BuildOptions(available_pythons=("3.13",)))
    assert plan.python_version == "3.13"
    assert "python_version 3.10 requested; this server has 3.13, using it" in plan.notes


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("banana", "python_version must be a version like 3.11, got 'banana'"),
        ("2", "python_version must be a version like 3.11, got '2'"),
        ('"3"', "python_version must be a version like 3.11, got '3'"),
        ("[3.13]", "python_version must be a string, got a list"),
        ("true", "python_version must be a string"),
    ],
)
def test_an_invalid_version_is_a_config_error_naming_key_and_line(value: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_space_config(f"---\nsdk: gradio\npython_version: {value}\n---\n")
    assert caught.value.line == 3
    assert fragment in str(caught.value)
    assert str(caught.value).startswith("README.md line 3: ")


# The engine's Pythons


def test_versions_come_from_the_python_image_tags() -> None:
    tags = [
        "localhost/spaces/python:3.13",
        "localhost/spaces/python:3.11",
        "localhost/spaces/python:3.11",
        "localhost/spaces/python:latest",
        "localhost/spaces/python:3.13-old",
        "localhost/spaces/gradio:6.31.0-py3.12",
        "other/prefix/python:3.12",
    ]
    assert python_versions_in(tags, "localhost/spaces") == ("3.11", "3.13")
    assert python_versions_in(["x/python:3.10", "x/python:3.9"], "x") == ("3.9", "3.10")
    assert python_versions_in([], "localhost/spaces") == ()


class _Engine(BuildEngine):
    def __init__(self, pythons: tuple[str, ...] | None) -> None:
        self._pythons = pythons

    async def pythons(self) -> tuple[str, ...] | None:
        return self._pythons

    async def build(
        self,
        *,
        plan: BuildPlan,
        app_dir: Path,
        image_repository: str,
        sha: str,
        log: LogWriter,
        no_cache: bool = False,
        build_args: dict[str, str] | None = None,
        secrets: dict[str, str] | None = None,
    ) -> Artifact:
        raise NotImplementedError


@pytest.mark.parametrize(
    ("engine_has", "expected"), [(("3.11", "3.13"), ("3.11", "3.13")), (None, ("3.11",))]
)
async def test_the_pipeline_plans_with_the_engines_pythons(
    tmp_path: Path, engine_has: tuple[str, ...] | None, expected: tuple[str, ...]
) -> None:
    pipeline = BuildPipeline(
        repos=None,  # type: ignore[arg-type]  # not used by _options
        engine=_Engine(engine_has),
        work_dir=tmp_path,
        options=BuildOptions(base_image_prefix="reg/x"),
    )
    options = await pipeline._options()
    assert options.available_pythons == expected
    assert options.base_image_prefix == "reg/x"


# runtime-images/pythons.sh


def pythons_sh(call: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", f'source "$1"; {call}', "bash", str(PYTHONS_SH)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(("version", "suite"), [("3.11", "bookworm"), ("3.13", "trixie")])
def test_offline_versions_map_to_a_debian_suite(version: str, suite: str) -> None:
    assert pythons_sh(f"python_suite {version}").stdout.strip() == suite
    assert version in pythons_sh("python_offline_versions").stdout.split()


@pytest.mark.parametrize("version", ["3.10", "3.12", "3.9"])
def test_versions_no_debian_release_ships_have_no_suite(version: str) -> None:
    result = pythons_sh(f"python_suite {version}")
    assert result.returncode != 0
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("version", "image"),
    [
        ("3.11", "docker.io/library/python:3.11-slim-bookworm"),
        ("3.13", "docker.io/library/python:3.13-slim-trixie"),
        ("3.10", "docker.io/library/python:3.10-slim"),
        ("3.12", "docker.io/library/python:3.12-slim"),
    ],
)
def test_registry_source_maps_any_version_to_the_official_image(version: str, image: str) -> None:
    assert pythons_sh(f"python_registry_image {version}").stdout.strip() == image


@pytest.mark.parametrize(
    ("version", "valid"), [("3.13", True), ("3.10", True), ("3", False), ("3.10.4", False)]
)
def test_version_syntax(version: str, valid: bool) -> None:
    assert (pythons_sh(f"python_valid {version}").returncode == 0) is valid
