"""Fixtures for end-to-end tests: one control plane per runtime, shared by the tests of a module."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.runtimes.container import ContainerRuntime
from orchestrator.testing import ControlPlane


def _localhost_subdomains_resolve() -> bool:
    try:
        socket.getaddrinfo("probe.localhost", 80)
    except OSError:
        return False
    return True


@pytest.fixture(scope="session", autouse=True)
def _require_localhost_resolution() -> None:
    if not _localhost_subdomains_resolve():
        pytest.fail(
            "*.localhost does not resolve on this machine; run scripts/install.sh (it enables"
            " nss-myhostname) so Python clients can reach http://{owner}-{name}.localhost."
        )


def start_control_plane(tmp_path_factory: pytest.TempPathFactory, runtime: str) -> ControlPlane:
    if runtime == "container" and not ContainerRuntime.available():
        pytest.skip("no container engine answers (run scripts/install.sh to set up Podman)")
    plane = ControlPlane(data_dir=Path(tmp_path_factory.mktemp(f"plane-{runtime}")), runtime=runtime)
    plane.start()
    return plane


@pytest.fixture(scope="module", params=["process", pytest.param("container", marks=pytest.mark.container)])
def plane(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    control_plane = start_control_plane(tmp_path_factory, request.param)
    yield control_plane
    control_plane.delete_all_spaces()
    control_plane.stop()
