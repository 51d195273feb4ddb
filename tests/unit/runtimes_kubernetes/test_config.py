"""The SPACES_KUBERNETES_* settings: JSON lists and maps, typos refused, turned into the cluster policy."""

from __future__ import annotations

import pytest
from pydantic_settings import SettingsError

from orchestrator.runtimes.kubernetes.config import KubernetesSettings
from orchestrator.runtimes.kubernetes.hardware import format_quantity
from orchestrator.runtimes.kubernetes.workload import DEFAULT_BLOCKED_CIDRS, PodSelector


def test_the_policy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPACES_KUBERNETES_NAMESPACE", "my-spaces")
    monkeypatch.setenv("SPACES_KUBERNETES_PROXY_NAMESPACE", "spaces-system")
    monkeypatch.setenv(
        "SPACES_KUBERNETES_PROXY_POD_LABELS", '{"app.kubernetes.io/component": "proxy", "b": "c"}'
    )
    monkeypatch.setenv("SPACES_KUBERNETES_BLOCKED_CIDRS", '["10.0.0.0/8"]')
    monkeypatch.setenv("SPACES_KUBERNETES_GPU_RUNTIME_CLASS", "nvidia")
    policy = KubernetesSettings().policy()
    assert policy.namespace == "my-spaces"
    assert policy.proxy == PodSelector(
        namespace_labels=(("kubernetes.io/metadata.name", "spaces-system"),),
        pod_labels=(("app.kubernetes.io/component", "proxy"), ("b", "c")),
    )
    assert policy.blocked_cidrs == ("10.0.0.0/8",)
    assert (policy.runtime_class, policy.gpu_runtime_class) == (None, "nvidia")


def test_defaults_block_the_private_ranges() -> None:
    assert KubernetesSettings().policy().blocked_cidrs == DEFAULT_BLOCKED_CIDRS


def test_a_misspelt_variable_is_reported() -> None:
    environ = {"SPACES_KUBERNETES_NAMESPACES": "x", "SPACES_KUBERNETES_NAMESPACE": "y", "SPACES_PORT": "1"}
    assert KubernetesSettings.unknown_variables(environ) == ["SPACES_KUBERNETES_NAMESPACES"]


def test_a_bad_value_is_refused_with_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPACES_KUBERNETES_PROXY_POD_LABELS", "app=proxy")
    with pytest.raises(SettingsError, match="proxy_pod_labels"):
        KubernetesSettings()


@pytest.mark.parametrize(
    ("resource", "amount", "text"),
    [
        ("cpu", 2000, "2"),
        ("cpu", 500, "500m"),
        ("memory", 16 * 2**30, "16Gi"),
        ("memory", 1536 * 2**20, "1536Mi"),
        ("memory", 1000, "1000"),
        ("nvidia.com/gpu", 2, "2"),
    ],
)
def test_quantities_are_written_exactly(resource: str, amount: int, text: str) -> None:
    assert format_quantity(resource, amount) == text
