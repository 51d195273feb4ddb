"""The control plane's OpenAPI document, fuzzed with schemathesis (its CLI, bounded): no server error
(5xx), and every response matches the schema the document declares for it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.testing import ControlPlane

from .conftest import start_control_plane

ST = str(Path(sys.executable).parent / "st")


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    control_plane = start_control_plane(tmp_path_factory, "process")
    control_plane.api(
        "POST",
        "/api/repos/create",
        control_plane.admin_token,
        json={"type": "space", "name": "fuzzed", "sdk": "static"},
    )
    yield control_plane
    control_plane.stop()


def test_openapi_fuzzing_finds_no_server_error_nor_schema_violation(
    plane: ControlPlane, tmp_path: Path
) -> None:
    paths = plane.api("GET", "/openapi.json").json()["paths"]
    assert {"/api/spaces/{owner}/{name}/secrets", "/api/spaces/{owner}/{name}/commit/{revision}"} <= set(
        paths
    )
    result = subprocess.run(
        [
            ST,
            "run",
            f"{plane.url}/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--include-path-regex",
            "^/api/",
            "--max-examples",
            "5",
            "--phases",
            "examples,fuzzing",
            "--request-timeout",
            "30",
            "-H",
            f"Authorization: Bearer {plane.admin_token}",
        ],
        capture_output=True,
        text=True,
        timeout=400,
        cwd=tmp_path,  # schemathesis writes its .schemathesis/ cache in the working directory
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
