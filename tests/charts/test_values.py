"""values.schema.json refuses mistakes with the key at fault; the capabilities of the cluster choose
API versions; NOTES tell the admin where the token is and the URLs."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.charts.conftest import Render
from tests.charts.helm import CHART, NAMESPACE, RELEASE, Helm, find, pod_specs


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"bulder": {"mode": "external"}}, "additional properties 'bulder' not allowed"),
        ({"api": {"replicas": "two"}}, "at '/api/replicas': got string, want integer"),
        ({"api": {"replicas": 0}}, "at '/api/replicas'"),
        ({"builder": {"mode": "kaniko"}}, "at '/builder/mode'"),
        ({"builder": {"mode": "external"}}, "at '/builder/external/host'"),
        ({"database": {"bundled": False}}, "at '/database/external/url'"),
        ({"redis": {"bundled": False}}, "at '/redis/external/url'"),
        ({"registry": {"bundled": False}}, "at '/registry/external/host'"),
        ({"database": {"external": {"url": "mysql://x"}}}, "at '/database/external/url'"),
        ({"domain": "Spaces.Example.com"}, "at '/domain'"),
        ({"image": {"digest": "latest"}}, "at '/image/digest'"),
        ({"ingress": {"tls": {"enabled": True}}}, "at '/ingress/tls/secretName'"),
        ({"spaces": {"namespace": {"name": "My_Spaces"}}}, "at '/spaces/namespace/name'"),
        (
            {"spaces": {"networkPolicy": {"blockedCidrs": ["10.0.0.0"]}}},
            "at '/spaces/networkPolicy/blockedCidrs/0'",
        ),
        ({"api": {"resources": {"limits": {"memory": "2GB"}}}}, "at '/api/resources/limits/memory'"),
        ({"controller": {"leaderElection": {"leaseDurationSeconds": 1}}}, "leaseDurationSeconds"),
    ],
)
def test_bad_values_are_refused_with_the_key_at_fault(
    helm: Helm, values: dict[str, Any], message: str
) -> None:
    result = helm.run("template", RELEASE, str(CHART), values=values)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr, result.stderr


def test_every_value_is_documented_in_values_yaml() -> None:
    """Each key of values.yaml has a comment just above it, or belongs to a documented key (the fields
    of ``resources:`` need no comment of their own); section keys (with only keys below) need none."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    parents: list[tuple[int, bool]] = []  # (indent, documented) of the enclosing keys
    undocumented = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "-")) or ":" not in stripped:
            continue
        indent = len(line) - len(line.lstrip())
        while parents and parents[-1][0] >= indent:
            parents.pop()
        commented = index > 0 and lines[index - 1].strip().startswith("#")
        documented = commented or (bool(parents) and parents[-1][1])
        section = stripped.endswith(":")
        if not documented and not section:
            undocumented.append(f"values.yaml:{index + 1}: {stripped}")
        parents.append((indent, documented))
    assert undocumented == []


def test_the_schema_knows_every_default() -> None:
    """additionalProperties is false everywhere, so a key in values.yaml missing from the schema would
    make the defaults fail; rendering the defaults (other tests) proves there is none. Here: the schema
    describes the top-level keys values.yaml has, and no others."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(schema["properties"]) == set(defaults)


@pytest.mark.parametrize(
    ("kube", "api_version"), [("1.20.2", "policy/v1beta1"), ("1.21.0", "policy/v1"), ("1.35.0", "policy/v1")]
)
def test_disruption_budgets_use_the_api_the_cluster_serves(
    render: Render, kube: str, api_version: str
) -> None:
    budgets = [o for o in render("defaults", kube) if o["kind"] == "PodDisruptionBudget"]
    assert {b["metadata"]["name"] for b in budgets} == {"spaces-proxy", "spaces-controller", "spaces-worker"}
    assert {b["apiVersion"] for b in budgets} == {api_version}


@pytest.mark.parametrize(
    ("kube", "has_user_namespace"), [("1.24.17", False), ("1.25.0", True), ("1.35.0", True)]
)
def test_the_builder_gets_a_user_namespace_where_the_cluster_knows_them(
    render: Render, kube: str, has_user_namespace: bool
) -> None:
    pod = pod_specs(render("gpu", kube))["spaces-builder"]
    assert ("hostUsers" in pod) is has_user_namespace


def test_the_notes_say_where_the_token_is_and_the_urls(helm: Helm) -> None:
    result = helm.run("install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--dry-run=client")
    assert result.returncode == 0, result.stderr
    notes = result.stdout.split("NOTES:", 1)[1]
    assert "http://spaces.example.com" in notes
    assert "http://<owner>-<name>.spaces.example.com" in notes
    assert "kubectl -n spaces-system get secret spaces-admin -o jsonpath='{.data.token}' | base64 -d" in notes
    assert "spaces --url http://spaces.example.com login --token <token>" in notes


def test_the_registry_is_pushed_to_by_service_and_pulled_by_nodes_on_localhost(render: Render) -> None:
    objects = render("defaults", "1.35.0")
    service = find(objects, "Service", "spaces-registry")
    assert service["spec"]["type"] == "NodePort"
    assert service["spec"]["ports"][0]["nodePort"] == 30500
    controller = pod_specs(objects)["spaces-controller"]["containers"][0]
    env = {var["name"]: var.get("value") for var in controller["env"]}
    assert env["SPACES_KUBERNETES_IMAGE_REGISTRY"] == "localhost:30500/spaces"
    builder = pod_specs(objects)["spaces-builder"]["containers"][0]
    assert {"name": "SPACES_REGISTRY_HOST", "value": "spaces-registry.spaces-system.svc:5000"} in builder[
        "env"
    ]
    assert (
        "insecure = true" in builder["command"][2]
        and "registries.conf.d/spaces.conf" in builder["command"][2]
    )
