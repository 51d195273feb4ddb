"""Which Python versions a container engine can build Spaces with: the python base images it has.

``python_versions_in`` is pure (image tags in, versions out); ``installed_pythons`` asks the engine. A
version counts when ``<prefix>/python:<major>.<minor>`` exists; ``runtime-images/build.sh --python``
builds one. Nothing here builds or removes images.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import docker

_VERSION_TAG = re.compile(r"3\.\d+")


def python_versions_in(tags: Iterable[str], prefix: str) -> tuple[str, ...]:
    """The versions named by tags ``<prefix>/python:3.N``, oldest first, each once."""
    repository = f"{prefix}/python:"
    versions = {
        tag[len(repository) :]
        for tag in tags
        if tag.startswith(repository) and _VERSION_TAG.fullmatch(tag[len(repository) :])
    }
    return tuple(sorted(versions, key=lambda version: int(version.split(".")[1])))


def installed_pythons(client: docker.DockerClient, prefix: str) -> tuple[str, ...]:
    """The Python versions whose base image the engine behind ``client`` has."""
    tags = (tag for image in client.images.list(name=f"{prefix}/python") for tag in image.tags)
    return python_versions_in(tags, prefix)
