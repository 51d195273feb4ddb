"""What the chart tells the control plane: every role's command and environment, and the Kubernetes
runtime's settings, which must parse and select the pods the chart actually runs."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from orchestrator.runtimes.kubernetes.config import KubernetesSettings
from tests.charts.conftest import Render
from tests.charts.helm import NAMESPACE, env_of, find, pod_specs
from tests.charts.values_sets import VALUE_SETS

ROLES = ("api", "controller", "proxy", "worker")


def _container(objects: list[dict[str, Any]], role: str) -> dict[str, Any]:
    container: dict[str, Any] = pod_specs(objects)[f"spaces-{role}"]["containers"][0]
    return container


@pytest.mark.parametrize("role", ROLES)
def test_each_role_runs_the_orchestrator_image_in_its_role(render: Render, role: str) -> None:
    container = _container(render("defaults", "1.35.0"), role)
    assert container["image"] == "spaces-orchestrator:0.1.0"
    assert container["args"] == ["serve", "--role", role]
    env = env_of(container)
    assert env["SPACES_RUNTIME"] == "kubernetes"
    assert env["SPACES_DATABASE_URL"] == (
        "postgresql+psycopg://spaces:$(POSTGRES_PASSWORD)@spaces-postgresql.spaces-system.svc:5432/spaces"
    )
    assert env["SPACES_REDIS_URL"] == "redis://:$(REDIS_PASSWORD)@spaces-redis.spaces-system.svc:6379/0"
    assert env["SPACES_REGISTRY"] == "spaces-registry.spaces-system.svc:5000/spaces"
    # $(VAR) expands only variables defined earlier in the list.
    names = [var["name"] for var in container["env"]]
    assert names.index("POSTGRES_PASSWORD") < names.index("SPACES_DATABASE_URL")


def test_external_services_come_from_secrets_and_values(render: Render) -> None:
    objects = render("external-services", "1.35.0")
    env = env_of(_container(objects, "worker"))
    assert env["SPACES_DATABASE_URL"] == {"secretKeyRef": {"name": "spaces-services", "key": "database-url"}}
    assert env["SPACES_REDIS_URL"] == {"secretKeyRef": {"name": "my-redis", "key": "redis-url"}}
    assert env["SPACES_REGISTRY"] == "registry.example.com:5000/spaces"
    assert env["SPACES_CONTAINER_HOST"] == "tcp://build-vm.example.com:2375"
    assert env["REGISTRY_AUTH_FILE"] == "/var/run/spaces/registry/config.json"
    assert not [
        o
        for o in objects
        if o["metadata"]["name"].endswith(("-postgresql", "-redis", "-registry", "-builder"))
    ]
    assert (
        _container(objects, "api")["image"]
        == "registry.example.com:5000/spaces-orchestrator@sha256:" + "0" * 64
    )
    assert env_of(_container(objects, "api"))["SPACES_ADMIN_TOKEN"] == {
        "secretKeyRef": {"name": "my-admin-token", "key": "token"}
    }
    assert [o for o in objects if o["kind"] == "Secret"] == [find(objects, "Secret", "spaces-services")]


def test_without_cluster_dns_services_are_reached_by_their_environment_addresses(render: Render) -> None:
    pod = pod_specs(render("external-services", "1.35.0"))["spaces-worker"]
    assert pod["enableServiceLinks"] is True
    assert env_of(pod["containers"][0])["SPACES_API_URL"] == "http://$(SPACES_API_SERVICE_HOST)"


def test_the_in_cluster_builder_is_driven_through_its_service(render: Render) -> None:
    env = env_of(_container(render("defaults", "1.35.0"), "worker"))
    assert env["SPACES_CONTAINER_HOST"] == "tcp://spaces-builder.spaces-system.svc:8888"
    assert env["SPACES_API_URL"] == "http://spaces-api.spaces-system.svc"


@pytest.mark.parametrize("values_set", VALUE_SETS)
@pytest.mark.parametrize("role", ["api", "controller"])
def test_the_runtime_settings_parse_and_select_the_proxy_pods(
    render: Render, values_set: str, role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = render(values_set, "1.35.0")
    env = env_of(_container(objects, role))
    ours = {k: v for k, v in env.items() if k.startswith("SPACES_KUBERNETES_")}
    assert KubernetesSettings.unknown_variables(ours) == []
    for name, value in ours.items():
        if isinstance(value, str):
            monkeypatch.setenv(name, value)
    assert ours["SPACES_KUBERNETES_HOLDER_IDENTITY"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    settings = KubernetesSettings()
    policy = settings.policy()
    proxy = find(objects, "Deployment", "spaces-proxy")
    assert dict(policy.proxy.pod_labels).items() <= proxy["spec"]["template"]["metadata"]["labels"].items()
    assert policy.proxy.namespace_labels == (("kubernetes.io/metadata.name", NAMESPACE),)
    namespace = VALUE_SETS[values_set].get("spaces", {}).get("namespace", {}).get("name") or "spaces-spaces"
    assert policy.namespace == namespace
    assert settings.lease_namespace == NAMESPACE and settings.lease_name == "spaces-controller"


def test_gpu_settings_reach_the_runtime(render: Render, monkeypatch: pytest.MonkeyPatch) -> None:
    objects = render("gpu", "1.35.0")
    env = env_of(_container(objects, "controller"))
    assert (env["SPACES_KUBERNETES_GPU_RUNTIME_CLASS"], env["SPACES_KUBERNETES_RUNTIME_CLASS"]) == (
        "nvidia",
        "gvisor",
    )
    assert env["SPACES_KUBERNETES_PERSISTENT_STORAGE"] == "true"
    assert env["SPACES_FLAVORS_FILE"] == "/etc/spaces/flavors.yaml"
    flavors = find(objects, "ConfigMap", "spaces-flavors")["data"]["flavors.yaml"]
    assert "nvidia.com/gpu: 1" in flavors
    mounts = _container(objects, "controller")["volumeMounts"]
    assert {"name": "flavors", "mountPath": "/etc/spaces", "readOnly": True} in mounts


def test_the_ingress_sends_the_domain_to_the_api_and_its_subdomains_to_the_proxies(render: Render) -> None:
    ingress = find(render("tls-and-scale", "1.35.0"), "Ingress", "spaces")
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == [
        {"hosts": ["apps.example.org", "*.apps.example.org"], "secretName": "wildcard-cert"}
    ]
    backends = {
        rule["host"]: rule["http"]["paths"][0]["backend"]["service"]["name"] for rule in spec["rules"]
    }
    assert backends == {"apps.example.org": "spaces-api", "*.apps.example.org": "spaces-proxy"}
    env = env_of(_container(render("tls-and-scale", "1.35.0"), "api"))
    assert env["SPACES_PUBLIC_URL"] == "https://apps.example.org"
    assert not [o for o in render("ingress-off", "1.35.0") if o["kind"] == "Ingress"]


def test_replicas_follow_the_values(render: Render) -> None:
    objects = render("tls-and-scale", "1.35.0")
    replicas = {o["metadata"]["name"]: o["spec"]["replicas"] for o in objects if o["kind"] == "Deployment"}
    assert replicas == {
        "spaces-api": 3,
        "spaces-controller": 2,
        "spaces-proxy": 4,
        "spaces-worker": 6,
        "spaces-builder": 1,
    }
    # Several API pods share one ReadWriteMany claim: rolled, not recreated.
    assert "strategy" not in find(objects, "Deployment", "spaces-api")["spec"]
    assert find(objects, "PersistentVolumeClaim", "spaces-api-data")["metadata"]["annotations"] == {
        "helm.sh/resource-policy": "keep"
    }


def test_the_admin_token_is_made_once_in_the_hub_format(render: Render) -> None:
    secret = find(render("defaults", "1.35.0"), "Secret", "spaces-admin")
    token = base64.b64decode(secret["data"]["token"]).decode()
    assert token.startswith("hf_") and len(token) == 37 and token[3:].isalnum()
    services = find(render("defaults", "1.35.0"), "Secret", "spaces-services")
    assert set(services["data"]) == {"postgres-password", "redis-password"}
