"""Pure: what the container runtime creates containers with (environment, labels, commands, paths).

Shared by instances, standbys and spares; no engine calls here. A spare is labelled ``spaces.spare``
and not ``spaces.space``: it belongs to no Space until one takes it.
"""

from __future__ import annotations

import json

from orchestrator.runtimes.base import LaunchSpec

LAUNCHER_DIR = "/opt/spaces"
START_DIR = "/tmp"
START_FILE = f"{START_DIR}/spaces-start.json"
APP_DIR = "/home/user/app"


def container_env(spec: LaunchSpec) -> dict[str, str]:
    """The Space's variables plus the port the app must listen on, on every interface of the container."""
    port = str(spec.container_port)
    return {
        **spec.env,
        "GRADIO_SERVER_NAME": "0.0.0.0",
        "GRADIO_SERVER_PORT": port,
        "STREAMLIT_SERVER_ADDRESS": "0.0.0.0",
        "STREAMLIT_SERVER_PORT": port,
        "PORT": port,
        "PYTHONUNBUFFERED": "1",
    }


def container_labels(spec: LaunchSpec, instance_id: str, *, standby: bool = False) -> dict[str, str]:
    labels = {
        **spec.labels,
        "spaces.orchestrator": "1",
        "spaces.space": spec.space_id,
        "spaces.instance": instance_id,
    }
    if standby:
        labels["spaces.standby"] = "1"
    return labels


def standby_command(spec: LaunchSpec, instance_id: str) -> list[str]:
    return [
        "python",
        f"{LAUNCHER_DIR}/launcher.py",
        "standby",
        START_FILE,
        "--preload",
        ",".join(spec.preload),
        f"--instance={instance_id}",
    ]


SPARE_LABEL = "spaces.spare"


def spare_labels(instance_id: str) -> dict[str, str]:
    return {"spaces.orchestrator": "1", SPARE_LABEL: "1", "spaces.instance": instance_id}


def spare_key(spec: LaunchSpec) -> str | None:
    """Spares are shared by the Spaces of one dependencies image, preload, port and user."""
    if spec.command or spec.artifact.kind != "image" or not spec.artifact.deps_reference:
        return None
    return json.dumps(
        [
            spec.artifact.deps_reference,
            spec.artifact.deps_key,
            list(spec.preload),
            spec.container_port,
            spec.user,
        ]
    )
