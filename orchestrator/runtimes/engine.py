"""Find and connect to a container engine that speaks the Docker Engine API (Docker or Podman).

Owns the choice of address: the configured one, else ``DOCKER_HOST``, else the first answering of
the usual Docker and Podman sockets. Blocking; callers on the event loop use ``asyncio.to_thread``.
"""

from __future__ import annotations

import os
from typing import Any

import docker
import docker.errors
from docker.errors import DockerException

DEFAULT_SOCKETS = ("unix:///var/run/docker.sock", "unix:///run/podman/podman.sock")
PING_TIMEOUT_SECONDS = 10
PING_API_VERSION = "1.41"
"""Fixed for pings, skipping the version negotiation (Docker 20.10 and Podman 3 speak it)."""


def candidate_urls(base_url: str | None = None) -> list[str]:
    """Addresses to try, best first."""
    if base_url:
        return [base_url]
    if os.environ.get("DOCKER_HOST"):
        return [os.environ["DOCKER_HOST"]]
    return list(DEFAULT_SOCKETS)


def connect(url: str, *, timeout: int = 60, version: str = "auto") -> Any:
    """A ``docker.DockerClient`` for ``url``; raises ``DockerException`` or ``OSError`` if none answers."""
    # Log followers hold one connection each for as long as their container runs.
    return docker.DockerClient(base_url=url, version=version, timeout=timeout, max_pool_size=64)


def answers(url: str) -> bool:
    """Whether an engine answers a ping at ``url``."""
    try:
        client = connect(url, timeout=PING_TIMEOUT_SECONDS, version=PING_API_VERSION)
    except (DockerException, OSError):
        return False
    try:
        return bool(client.ping())
    except (DockerException, OSError):
        return False
    finally:
        client.close()


def find_engine(base_url: str | None = None) -> str | None:
    """The first address in ``candidate_urls`` that answers, or None."""
    for url in candidate_urls(base_url):
        if answers(url):
            return url
    return None


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    """Whether the engine has an image named ``tag`` (blocking)."""
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True
