"""The Kubernetes runtime's settings: ``SPACES_KUBERNETES_*`` variables, as the Helm chart sets them.

This is the contract between ``charts/spaces-orchestrator`` and the runtime: the chart's templates set
these variables on the controller and API pods (``tests/charts`` checks that every one it sets parses
here), and :meth:`KubernetesSettings.policy` turns them into the ``ClusterPolicy`` the manifests take.
List and mapping values are JSON (``'{"app.kubernetes.io/component": "proxy"}'``).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from orchestrator.runtimes.kubernetes.workload import (
    DEFAULT_BLOCKED_CIDRS,
    DEFAULT_BLOCKED_CIDRS_V6,
    ClusterPolicy,
    PodSelector,
)


class KubernetesSettings(BaseSettings):
    """Where Spaces run on the cluster and what they may reach."""

    model_config = SettingsConfigDict(env_prefix="SPACES_KUBERNETES_", extra="forbid")

    kubeconfig: str = ""
    """A kubeconfig file; empty: the pod's service account (in-cluster)."""

    namespace: str = "spaces"
    """The namespace the Spaces' Deployments, Services, Secrets and NetworkPolicies live in."""

    proxy_namespace: str = "default"
    """The namespace of the proxy pods (the release's namespace)."""

    proxy_pod_labels: dict[str, str] = Field(default_factory=lambda: {"app.kubernetes.io/component": "proxy"})
    """Labels that select the proxy pods, the only pods that may connect to an app."""

    dns_namespace_labels: dict[str, str] = Field(
        default_factory=lambda: {"kubernetes.io/metadata.name": "kube-system"}
    )
    """Labels of the namespace of the cluster's DNS pods (set automatically from Kubernetes 1.21)."""

    dns_pod_labels: dict[str, str] = Field(default_factory=lambda: {"k8s-app": "kube-dns"})
    """Labels of the cluster's DNS pods (CoreDNS keeps kube-dns's label)."""

    blocked_cidrs: list[str] = Field(default_factory=lambda: list(DEFAULT_BLOCKED_CIDRS))
    """IPv4 ranges apps may not reach (the cluster's pod, Service and node networks at least)."""

    blocked_cidrs_v6: list[str] = Field(default_factory=lambda: list(DEFAULT_BLOCKED_CIDRS_V6))
    """IPv6 ranges apps may not reach."""

    runtime_class: str = ""
    """RuntimeClass of every app pod (a sandbox such as gVisor); empty: the cluster's default."""

    gpu_runtime_class: str = ""
    """RuntimeClass of app pods that hold a GPU (often ``nvidia``); empty: ``runtime_class``."""

    image_registry: str = ""
    """The registry prefix as the cluster's nodes pull from it (``localhost:30500/spaces`` for the chart's
    bundled registry, which workers push to through its Service); empty: ``SPACES_REGISTRY``."""

    image_pull_secret: str = ""
    """Secret (in ``namespace``) with the registry's credentials for pulling app images."""

    termination_grace_seconds: int = Field(default=30, ge=0)
    """Seconds a replaced or sleeping app may finish its requests after SIGTERM."""

    read_only_root_filesystem: bool = True
    """Gradio, Streamlit and static apps run with a read-only image (writable app folder, caches and
    /tmp); ``false`` lets them change any file, for apps that install packages when they start."""

    persistent_storage: bool = False
    """Whether Spaces may have persistent storage (the chart grants PersistentVolumeClaims only then)."""

    storage_class: str = ""
    """StorageClass of Spaces' persistent storage (``/data``); empty: the cluster's default."""

    lease_namespace: str = "default"
    """The namespace of the controllers' leader-election Lease (the release's namespace)."""

    lease_name: str = "spaces-controller"
    """The Lease the controllers compete for."""

    holder_identity: str = ""
    """This controller's name in the Lease (the chart gives the pod's name); empty: the host name."""

    lease_duration_seconds: int = Field(default=8, ge=2)
    """A standby takes over when the leader has not renewed for this long."""

    renew_deadline_seconds: int = Field(default=6, ge=1)
    """A leader that could not renew for this long stops acting (shorter than the duration)."""

    retry_period_seconds: float = Field(default=2.0, gt=0)
    """How often candidates look at the Lease and the leader renews it."""

    @classmethod
    def unknown_variables(cls, environ: Mapping[str, str]) -> list[str]:
        """``SPACES_KUBERNETES_*`` names in ``environ`` that no setting reads (typos the runtime should
        refuse at start, since pydantic-settings ignores them)."""
        prefix = cls.model_config.get("env_prefix", "")
        known = {prefix + name.upper() for name in cls.model_fields}
        return sorted(key for key in environ if key.startswith(prefix) and key not in known)

    def policy(self) -> ClusterPolicy:
        """The policy every Space's objects are made with."""
        return ClusterPolicy(
            namespace=self.namespace,
            proxy=PodSelector(
                namespace_labels=(("kubernetes.io/metadata.name", self.proxy_namespace),),
                pod_labels=tuple(sorted(self.proxy_pod_labels.items())),
            ),
            dns=PodSelector(
                namespace_labels=tuple(sorted(self.dns_namespace_labels.items())),
                pod_labels=tuple(sorted(self.dns_pod_labels.items())),
            ),
            blocked_cidrs=tuple(self.blocked_cidrs),
            blocked_cidrs_v6=tuple(self.blocked_cidrs_v6),
            runtime_class=self.runtime_class or None,
            gpu_runtime_class=self.gpu_runtime_class or None,
            image_pull_secret=self.image_pull_secret or None,
            termination_grace_s=self.termination_grace_seconds,
        )
