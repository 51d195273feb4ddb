"""Pure constructor of a Space's NetworkPolicy: who may reach the app, and where the app may go.

Apps are strangers' code, so each Space's pods get a policy that allows exactly:

- in: connections from the proxy pods (``ClusterPolicy.proxy``) to the app port, nothing else (not
  another Space, not the control plane, not a node's other pods);
- out: DNS (port 53) to the cluster's DNS pods, and any address outside ``ClusterPolicy.blocked_cidrs``
  (the private, shared and link-local ranges where pods, Services, nodes and the cloud's metadata
  service live), so an app can call public APIs and download models as on the Hub but reach no other
  Space, no control-plane service and no cluster Service except DNS.

NetworkPolicies only add allowances: the chart also installs a default-deny policy for the whole Spaces
namespace, so a pod whose own policy is missing (being created, or left by a crash) reaches nothing.
Enforcement needs a CNI plugin that implements NetworkPolicy (Calico, Cilium, …).
"""

from __future__ import annotations

from orchestrator.runtimes.kubernetes import bodies as b
from orchestrator.runtimes.kubernetes.manifests import stamp_spec_hash
from orchestrator.runtimes.kubernetes.names import (
    SPACE_ID_ANNOTATION,
    space_labels,
    space_object_name,
    space_selector,
    validate_namespace,
)
from orchestrator.runtimes.kubernetes.workload import ClusterPolicy, PodSelector, SpaceWorkload

DNS_PORT = 53


def _peer(selector: PodSelector) -> b.NetworkPolicyPeer:
    return {
        "namespaceSelector": {"matchLabels": dict(selector.namespace_labels)},
        "podSelector": {"matchLabels": dict(selector.pod_labels)},
    }


def _outside(cidr: str, blocked: tuple[str, ...]) -> b.NetworkPolicyPeer:
    block: b.IPBlock = {"cidr": cidr}
    if blocked:
        block["except"] = list(blocked)
    return {"ipBlock": block}


def make_network_policy(workload: SpaceWorkload, policy: ClusterPolicy) -> b.NetworkPolicy:
    """The NetworkPolicy of ``workload``'s pods (see the module docstring for what it allows)."""
    outside = [_outside("0.0.0.0/0", policy.blocked_cidrs), _outside("::/0", policy.blocked_cidrs_v6)]
    network_policy: b.NetworkPolicy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": space_object_name(workload.space_id),
            "namespace": validate_namespace(policy.namespace),
            "labels": space_labels(workload.space_id, dict(workload.labels)),
            "annotations": {SPACE_ID_ANNOTATION: workload.space_id},
        },
        "spec": {
            "podSelector": {"matchLabels": space_selector(workload.space_id)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {"from": [_peer(policy.proxy)], "ports": [{"protocol": "TCP", "port": workload.port}]}
            ],
            "egress": [
                {
                    "to": [_peer(policy.dns)],
                    "ports": [{"protocol": "UDP", "port": DNS_PORT}, {"protocol": "TCP", "port": DNS_PORT}],
                },
                {"to": outside},
            ],
        },
    }
    stamp_spec_hash(network_policy["metadata"], network_policy)
    return network_policy
