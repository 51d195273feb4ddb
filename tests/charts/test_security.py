"""The chart's security: least-privilege RBAC on the Spaces namespace, API tokens only where the
Kubernetes API is used, locked-down containers, the builder unprivileged, NetworkPolicies in place."""

from __future__ import annotations

from typing import Any

import pytest

from tests.charts.conftest import Render
from tests.charts.helm import find, pod_specs
from tests.charts.values_sets import VALUE_SETS

CRUD = ["get", "list", "watch", "create", "update", "patch", "delete"]


def _rules(objects: list[dict[str, Any]], name: str, namespace: str | None = None) -> list[dict[str, Any]]:
    role = find(objects, "Role", name)
    if namespace is not None:
        assert role["metadata"]["namespace"] == namespace
    rules: list[dict[str, Any]] = role["rules"]
    return rules


def test_the_controller_manages_only_the_spaces_objects_in_their_namespace(render: Render) -> None:
    assert _rules(render("defaults", "1.35.0"), "spaces-controller", "spaces-spaces") == [
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": CRUD},
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "update", "patch"]},
        {"apiGroups": [""], "resources": ["services", "secrets"], "verbs": CRUD},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": CRUD},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
    ]


def test_claims_only_when_spaces_may_have_storage(render: Render) -> None:
    rules = _rules(render("gpu", "1.35.0"), "spaces-controller")
    assert {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": CRUD} in rules


def test_the_lease_role_is_limited_to_the_controllers_lease(render: Render) -> None:
    objects = render("defaults", "1.35.0")
    rules = _rules(objects, "spaces-controller-leader")
    assert "namespace" not in find(objects, "Role", "spaces-controller-leader")["metadata"]  # the release's
    assert rules == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["spaces-controller"],
            "verbs": ["get", "watch", "update", "patch"],
        },
    ]


def test_the_api_reads_logs_and_execs_only_in_dev_mode(render: Render) -> None:
    with_dev = _rules(render("defaults", "1.35.0"), "spaces-api", "spaces-spaces")
    assert {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get", "create"]} in with_dev
    assert {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]} in with_dev
    without = _rules(render("ingress-off", "1.35.0"), "spaces-api", "my-spaces")
    assert not [rule for rule in without if "pods/exec" in rule["resources"]]


@pytest.mark.parametrize("values_set", VALUE_SETS)
def test_no_wildcards_and_no_write_outside_the_spaces_namespace(render: Render, values_set: str) -> None:
    objects = render(values_set, "1.35.0")
    for obj in objects:
        if obj["kind"] in ("Role", "ClusterRole"):
            for rule in obj["rules"]:
                assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], obj["metadata"][
                    "name"
                ]
        if obj["kind"] == "ClusterRole":
            assert obj["rules"] == [
                {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]}
            ]
    cluster_roles = [o for o in objects if o["kind"] == "ClusterRole"]
    assert len(cluster_roles) == (
        0 if VALUE_SETS[values_set].get("rbac", {}).get("readNodes") is False else 1
    )


@pytest.mark.parametrize("values_set", VALUE_SETS)
def test_only_the_api_and_the_controller_get_a_kubernetes_token(render: Render, values_set: str) -> None:
    for name, pod in pod_specs(render(values_set, "1.35.0")).items():
        wanted = name in ("spaces-api", "spaces-controller")
        assert pod["automountServiceAccountToken"] is wanted, name
        assert pod["serviceAccountName"] == (name if wanted else "spaces-unprivileged")
    unprivileged = find(render(values_set, "1.35.0"), "ServiceAccount", "spaces-unprivileged")
    assert unprivileged["automountServiceAccountToken"] is False


@pytest.mark.parametrize("values_set", VALUE_SETS)
def test_every_container_but_the_builder_is_locked_down(render: Render, values_set: str) -> None:
    for name, pod in pod_specs(render(values_set, "1.35.0")).items():
        if name == "spaces-builder":
            continue
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert "hostNetwork" not in pod and "hostPID" not in pod, name
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False and context["privileged"] is False, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert context["readOnlyRootFilesystem"] is True, name


def test_the_builder_is_root_in_its_pod_but_never_privileged(render: Render) -> None:
    objects = render("gpu", "1.35.0")
    pod = pod_specs(objects)["spaces-builder"]
    context = pod["containers"][0]["securityContext"]
    assert context["privileged"] is False and context["runAsUser"] == 0
    assert context["capabilities"]["drop"] == ["ALL"]
    assert "SYS_ADMIN" in context["capabilities"]["add"] and "NET_ADMIN" not in context["capabilities"]["add"]
    assert pod["hostUsers"] is False and pod["runtimeClassName"] == "kata"
    assert pod["nodeSelector"] == {"spaces/builds": "true"}
    assert pod["automountServiceAccountToken"] is False
    # No credentials: nothing from a Secret in its environment or volumes.
    assert all("valueFrom" not in var for var in pod["containers"][0]["env"])
    assert all("secret" not in volume for volume in pod["volumes"])


def test_only_workers_drive_the_builder_and_it_cannot_reach_the_cluster(render: Render) -> None:
    policy = find(render("defaults", "1.35.0"), "NetworkPolicy", "spaces-builder")["spec"]
    assert policy["ingress"] == [
        {
            "from": [
                {
                    "podSelector": {
                        "matchLabels": {
                            "app.kubernetes.io/name": "spaces-orchestrator",
                            "app.kubernetes.io/instance": "spaces",
                            "app.kubernetes.io/component": "worker",
                        }
                    }
                }
            ],
            "ports": [{"protocol": "TCP", "port": 8888}],
        }
    ]
    outside = policy["egress"][-1]["to"][0]["ipBlock"]
    assert (
        outside["cidr"] == "0.0.0.0/0"
        and "169.254.0.0/16" in outside["except"]
        and "10.0.0.0/8" in outside["except"]
    )


def test_the_database_and_redis_admit_only_the_control_plane(render: Render) -> None:
    objects = render("defaults", "1.35.0")
    for name in ("spaces-postgresql", "spaces-redis"):
        sources = find(objects, "NetworkPolicy", name)["spec"]["ingress"][0]["from"]
        components = {peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in sources}
        assert components == {"api", "controller", "proxy", "worker"}, name


def test_the_spaces_namespace_denies_everything_by_default(render: Render) -> None:
    objects = render("defaults", "1.35.0")
    deny = find(objects, "NetworkPolicy", "default-deny")
    assert deny["metadata"]["namespace"] == "spaces-spaces"
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    namespace = find(objects, "Namespace", "spaces-spaces")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert not [o for o in render("ingress-off", "1.35.0") if o["kind"] in ("NetworkPolicy", "Namespace")]
