"""Running the real ``helm`` (Helm 4, scripts/install-helm.sh) on the chart, offline.

``helm template`` renders without a cluster (``lookup`` returns nothing, capabilities come from
``--kube-version`` and Helm's built-in API list); Helm's own folders go to a temporary directory so the
user's configuration neither affects nor is touched by the tests.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "spaces-orchestrator"
INSTALLER = REPO / "scripts" / "install-helm.sh"
RELEASE = "spaces"
NAMESPACE = "spaces-system"


def find_helm() -> Path:
    """The helm binary (installed and cached by scripts/install-helm.sh); RuntimeError says why not."""
    result = subprocess.run([str(INSTALLER)], capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"scripts/install-helm.sh could not provide helm:\n{result.stderr}")
    return Path(result.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class Helm:
    binary: Path
    home: Path

    def run(self, *args: str, values: dict[str, Any] | None = None) -> subprocess.CompletedProcess[str]:
        """``helm <args>`` with ``values`` as a values file; returns the finished process."""
        env = {
            **os.environ,
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
            "KUBECONFIG": str(self.home / "no-cluster"),
        }
        extra: list[str] = []
        if values is not None:
            with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=self.home, delete=False) as handle:
                yaml.safe_dump(values, handle)
            extra = ["--values", handle.name]
        return subprocess.run(
            [str(self.binary), *args, *extra],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def template(self, values: dict[str, Any], *, kube_version: str = "1.35.0") -> list[dict[str, Any]]:
        """The rendered objects; AssertionError with helm's message if rendering fails."""
        result = self.run(
            "template",
            RELEASE,
            str(CHART),
            "--namespace",
            NAMESPACE,
            "--kube-version",
            kube_version,
            values=values,
        )
        assert result.returncode == 0, f"helm template failed:\n{result.stderr}"
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"{len(matches)} {kind} named {name}"
    return matches[0]


def pod_specs(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The pod template of every Deployment and StatefulSet, by object name."""
    return {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]
        for o in objects
        if o["kind"] in ("Deployment", "StatefulSet")
    }


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    """A container's environment: name -> value (or the valueFrom mapping)."""
    return {var["name"]: var.get("value", var.get("valueFrom")) for var in container.get("env", [])}
