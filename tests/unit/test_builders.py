"""Tests for builders/: front matter, config, build plans and the rendered recipe."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import (
    BuildOptions,
    ConfigError,
    DirectoryFiles,
    GradioBuilder,
    MemoryFiles,
    NoAppFileError,
    context_files,
    parse_space_config,
    plan_build,
    render_containerfile,
    select_builder,
    venv_spec,
)
from builders.durations import parse_duration
from builders.recipe import APP_STAGE_START, render_deps_stage

EXAMPLE_README = """\
---
title: Hello
emoji: 👋
colorFrom: blue
colorTo: green
sdk: gradio
sdk_version: 5.49.1
python_version: 3.11
app_file: app.py
pinned: false
---
# Hello
"""

APP = "import gradio as gr\n\ngr.Interface(lambda x: x, 'text', 'text').launch()\n"


def readme(*lines: str) -> str:
    return "---\n" + "\n".join(lines) + "\n---\n# Body\n"


def repo(**extra: str) -> dict[str, str]:
    files = {"README.md": EXAMPLE_README, "app.py": APP}
    files.update({name.replace("_", "-").replace("-txt", ".txt"): text for name, text in extra.items()})
    return files


def config_error(text: str | None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_space_config(text)
    return caught.value


# Front matter and config


def test_example_readme_parses() -> None:
    config = parse_space_config(EXAMPLE_README)
    assert config.sdk == "gradio"
    assert config.sdk_version == "5.49.1"
    assert config.python_version == "3.11"
    assert config.app_file == "app.py"
    assert config.app_port == 7860
    assert config.title == "Hello"
    assert config.extra == {"emoji": "👋", "colorFrom": "blue", "colorTo": "green", "pinned": False}
    assert config.warnings == []
    assert config.line_of("sdk") == 6
    assert config.startup_duration_timeout is None


def test_defaults_when_only_sdk_is_set() -> None:
    config = parse_space_config(readme("sdk: gradio"))
    assert config.sdk_version is None
    assert config.python_version == "3.10"
    assert config.app_file == "app.py"
    assert config.custom_headers == {}
    assert config.disable_embedding is False


def test_unquoted_versions_keep_their_text() -> None:
    config = parse_space_config(readme("sdk: gradio", "python_version: 3.10", "sdk_version: 4.40"))
    assert config.python_version == "3.10"
    assert config.sdk_version == "4.40"


def test_crlf_and_bom_are_accepted() -> None:
    text = "\ufeff" + readme("sdk: gradio", "python_version: 3.10").replace("\n", "\r\n")
    assert parse_space_config(text).python_version == "3.10"


@pytest.mark.parametrize("text", [None, "# Just a title\n\nsdk: gradio\n", ""])
def test_missing_front_matter_shows_an_example(text: str | None) -> None:
    error = config_error(text)
    assert error.file == "README.md"
    assert "between `---` lines" in error.message
    assert "sdk: gradio" in error.message
    assert "app_file: app.py" in error.message


def test_unterminated_block_names_its_opening_line() -> None:
    error = config_error("\n---\nsdk: gradio\n# no closing line\n")
    assert error.line == 2
    assert "never closed" in error.message


def test_invalid_yaml_reports_the_readme_line() -> None:
    error = config_error(readme("title: Hello", "sdk: gradio", "sdk_version: 5.0: 1", "pinned: false"))
    assert error.line == 4
    assert "not valid YAML" in error.message
    assert str(error).startswith("README.md line 4: ")


def test_front_matter_must_be_a_mapping() -> None:
    error = config_error(readme("- sdk", "- gradio"))
    assert error.line == 2
    assert "key: value" in error.message


def test_missing_sdk_with_nothing_to_detect() -> None:
    assert parse_space_config(readme("title: Hello")).sdk is None
    with pytest.raises(ConfigError) as caught:
        plan_build(MemoryFiles({"README.md": readme("title: Hello"), "main.py": "print(1)\n"}))
    assert "`sdk`" in caught.value.message
    assert "gradio" in caught.value.message


def test_wrong_type_names_key_and_line() -> None:
    error = config_error(readme("title: Hello", "sdk: gradio", "sdk_version:", "  - 5.0"))
    assert str(error) == "README.md line 4: sdk_version must be a string, got a list"


@pytest.mark.parametrize(
    ("line", "fragment", "line_number"),
    [
        ("app_port: high", "app_port must be a whole number", 3),
        ("disable_embedding: sometimes", "disable_embedding must be true or false", 3),
        ("python_version: 2.7", "python_version must be a version like 3.11", 3),
        ("sdk_version: latest", "sdk_version must be a version like", 3),
        ("app_file: ../outside.py", "app_file must be a path inside the repo", 3),
        ("base_path: docs", "base_path must begin with '/'", 3),
        ("tags: demo", "tags must be a list of strings", 3),
        ("custom_headers:\n  x-frame-options: deny", "custom_headers may only set", 4),
    ],
)
def test_invalid_known_keys(line: str, fragment: str, line_number: int) -> None:
    error = config_error(readme("sdk: gradio", line))
    assert fragment in error.message
    assert error.line == line_number


def test_unknown_sdk_lists_valid_ones() -> None:
    error = config_error(readme("sdk: grado"))
    assert error.line == 2
    for sdk in ("gradio", "streamlit", "docker", "static"):
        assert sdk in error.message


def test_unknown_keys_are_warnings() -> None:
    config = parse_space_config(readme("sdk: gradio", "foo: bar"))
    assert config.warnings == ["Unknown key 'foo' on line 3 is ignored"]


def test_custom_headers_are_read() -> None:
    config = parse_space_config(
        readme("sdk: gradio", "custom_headers:", "  cross-origin-opener-policy: same-origin")
    )
    assert config.custom_headers == {"cross-origin-opener-policy": "same-origin"}


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("30m", 1800.0), ("1h", 3600.0), ("90s", 90.0), ("1h30m", 5400.0), ("600", 600.0), (120, 120.0)],
)
def test_durations(value: str | int, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["30 minutes", "0", "-5m", "h", ""])
def test_bad_durations(value: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def test_startup_timeout_in_readme() -> None:
    config = parse_space_config(readme("sdk: gradio", "startup_duration_timeout: 1h"))
    assert config.startup_duration_timeout == 3600
    error = config_error(readme("sdk: gradio", "startup_duration_timeout: soon"))
    assert error.line == 3
    assert "startup_duration_timeout" in error.message


# Plans


def test_plan_for_the_example() -> None:
    plan = plan_build(MemoryFiles(repo()))
    assert plan.sdk == "gradio"
    assert plan.sdk_version == "5.49.1"
    assert plan.python_version == "3.11"
    assert plan.base_image == "localhost/spaces/gradio:5.49.1-py3.11"
    assert plan.sdk_base_recipe is not None
    assert plan.sdk_base_recipe.python_image == "localhost/spaces/python:3.11"
    assert plan.sdk_base_recipe.sdk_version == "5.49.1"
    assert plan.port == 7860
    assert plan.env["GRADIO_SERVER_NAME"] == "0.0.0.0"
    assert plan.env["GRADIO_SERVER_PORT"] == "7860"
    assert plan.env["SYSTEM"] == "spaces"
    assert plan.preload == ("gradio",)
    assert plan.requirements is None
    assert plan.apt_packages == ()
    assert plan.startup_timeout == 1800
    assert any("sdk: gradio" in note for note in plan.notes)


def test_other_python_version_falls_back_with_a_note() -> None:
    files = MemoryFiles({"README.md": readme("sdk: gradio", "python_version: 3.10"), "app.py": APP})
    plan = plan_build(files)
    assert plan.python_version == "3.11"
    assert "python_version 3.10 requested; this server has 3.11, using it" in plan.notes


def test_default_sdk_version_comes_from_options() -> None:
    files = MemoryFiles({"README.md": readme("sdk: gradio"), "app.py": APP})
    plan = plan_build(files, BuildOptions(default_gradio_version="5.0.0", base_image_prefix="reg/x"))
    assert plan.sdk_version == "5.0.0"
    assert plan.base_image == "reg/x/gradio:5.0.0-py3.11"


def test_stray_dockerfile_does_not_change_the_sdk() -> None:
    files = MemoryFiles(repo(Dockerfile="FROM scratch\n"))
    config = parse_space_config(EXAMPLE_README)
    assert isinstance(select_builder(config, files), GradioBuilder)


def test_detect() -> None:
    assert GradioBuilder().detect(MemoryFiles({"app.py": "from gradio import Blocks\n"}))
    assert GradioBuilder().detect(MemoryFiles({"main.py": "import gradio as gr\n"}), "main.py")
    assert not GradioBuilder().detect(MemoryFiles({"app.py": "import streamlit\n"}))


def test_missing_app_file_lists_python_files() -> None:
    files = MemoryFiles(
        {"README.md": readme("sdk: gradio", "app_file: main.py"), "demo.py": APP, "x.txt": ""}
    )
    with pytest.raises(NoAppFileError) as caught:
        plan_build(files)
    assert caught.value.line == 3
    assert "'main.py'" in caught.value.message
    assert "demo.py" in caught.value.message
    assert "x.txt" not in caught.value.message


def test_missing_default_app_file() -> None:
    with pytest.raises(NoAppFileError, match=r"the default 'app\.py'.*no \.py files"):
        plan_build(MemoryFiles({"README.md": readme("sdk: gradio")}))


def test_packages_txt() -> None:
    plan = plan_build(MemoryFiles(repo(packages_txt="# media\nffmpeg\n\nlibsm6 libxext6  # gl\nffmpeg\n")))
    assert plan.apt_packages == ("ffmpeg", "libsm6", "libxext6")
    with pytest.raises(ConfigError) as caught:
        plan_build(MemoryFiles(repo(packages_txt="ffmpeg\nrm;-rf\n")))
    assert (caught.value.file, caught.value.line) == ("packages.txt", 2)


def test_deps_key_ignores_app_files_but_not_requirements() -> None:
    base = plan_build(MemoryFiles(repo(requirements_txt="numpy\n")))
    app_changed = plan_build(MemoryFiles(repo(requirements_txt="numpy\n") | {"app.py": APP + "# v2\n"}))
    extra_file = plan_build(MemoryFiles(repo(requirements_txt="numpy\n") | {"util.py": "X = 1\n"}))
    reqs_changed = plan_build(MemoryFiles(repo(requirements_txt="numpy\npandas\n")))
    pre_changed = plan_build(MemoryFiles(repo(requirements_txt="numpy\n", pre_requirements_txt="pip\n")))
    apt_changed = plan_build(MemoryFiles(repo(requirements_txt="numpy\n", packages_txt="ffmpeg\n")))
    assert base.deps_key == app_changed.deps_key == extra_file.deps_key
    keys = {base.deps_key, reqs_changed.deps_key, pre_changed.deps_key, apt_changed.deps_key}
    assert len(keys) == 4


def test_directory_files(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(EXAMPLE_README)
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    files = DirectoryFiles(tmp_path)
    assert files.paths() == ["README.md", "app.py"]
    assert files.read_text("../etc/passwd") is None
    assert plan_build(files).app_file == "app.py"


# Recipes


def full_repo(app: str = APP) -> MemoryFiles:
    return MemoryFiles(
        repo(requirements_txt="numpy\n", pre_requirements_txt="pip>=24\n", packages_txt="ffmpeg\n")
        | {"app.py": app}
    )


def test_containerfile_layers_in_order() -> None:
    plan = plan_build(full_repo())
    text = render_containerfile(plan)
    order = [
        "FROM localhost/spaces/gradio:5.49.1-py3.11 AS deps",
        "USER root",
        "apt-get install -y --no-install-recommends ffmpeg",
        "USER user",
        "COPY --chown=1000:1000 .spaces/pre-requirements.txt .spaces/requirements.txt",
        "uv pip install --python /home/user/.venv/bin/python -r /home/user/.spaces/pre-requirements.txt",
        "-r /home/user/.spaces/requirements.txt --override /home/user/.spaces/sdk-overrides.txt",
        "gradio==5.49.1 spaces\n",
        "FROM deps AS app",
        "COPY --chown=1000:1000 . /home/user/app",
        'GRADIO_SERVER_NAME="0.0.0.0"',
        "EXPOSE 7860",
        'CMD ["python", "app.py"]',
    ]
    positions = [text.index(fragment) for fragment in order]
    assert positions == sorted(positions)
    assert "--mount=type=cache,target=/home/user/.cache/uv,uid=1000,gid=1000" in text
    assert context_files(plan) == {
        ".spaces/pre-requirements.txt": "pip>=24\n",
        ".spaces/requirements.txt": "numpy\n",
        ".spaces/sdk-overrides.txt": "gradio==5.49.1\n",
    }


def test_containerfile_without_dependency_files() -> None:
    text = render_containerfile(plan_build(MemoryFiles(repo())))
    assert "USER root" not in text
    assert "uv pip install" not in text
    assert context_files(plan_build(MemoryFiles(repo()))) == {}


def test_deps_stage_is_identical_across_app_only_changes() -> None:
    before = render_containerfile(plan_build(full_repo()))
    after = render_containerfile(plan_build(full_repo(APP + "print('changed')\n")))
    assert before.split(APP_STAGE_START)[0] == after.split(APP_STAGE_START)[0]
    plan = plan_build(full_repo())
    assert render_deps_stage(plan) in before


def test_venv_spec() -> None:
    plan = plan_build(full_repo())
    spec = venv_spec(plan)
    assert spec.python_version == "3.11"
    assert spec.packages == ("gradio==5.49.1", "spaces")
    assert spec.overrides == ("gradio==5.49.1",)
    assert spec.requirements == "numpy\n"
    assert spec.pre_requirements == "pip>=24\n"
    assert spec.deps_key == plan.deps_key
