"""A Space's NetworkPolicy: only the proxy gets in; out, only DNS and addresses outside the cluster."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

from orchestrator.runtimes.kubernetes.manifests import make_deployment
from orchestrator.runtimes.kubernetes.names import space_object_name
from orchestrator.runtimes.kubernetes.policies import make_network_policy
from orchestrator.runtimes.kubernetes.workload import DEFAULT_BLOCKED_CIDRS
from tests.unit.runtimes_kubernetes.helpers import CPU_SPACE, POLICY

PROXY = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "spaces-system"}},
    "podSelector": {
        "matchLabels": {"app.kubernetes.io/component": "proxy", "app.kubernetes.io/instance": "spaces"}
    },
}
DNS = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}


def test_the_policy_of_a_space() -> None:
    policy = make_network_policy(CPU_SPACE, POLICY)
    assert policy["metadata"]["name"] == space_object_name("alice/demo")
    assert policy["metadata"]["namespace"] == "spaces"
    assert policy["spec"] == {
        "podSelector": make_deployment(CPU_SPACE, POLICY)["spec"]["selector"],
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [PROXY], "ports": [{"protocol": "TCP", "port": 7860}]}],
        "egress": [
            {"to": [DNS], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
            {
                "to": [
                    {"ipBlock": {"cidr": "0.0.0.0/0", "except": list(DEFAULT_BLOCKED_CIDRS)}},
                    {"ipBlock": {"cidr": "::/0", "except": ["fc00::/7", "fe80::/10"]}},
                ]
            },
        ],
    }


def test_the_ingress_port_follows_the_app_port() -> None:
    policy = make_network_policy(replace(CPU_SPACE, port=8000), POLICY)
    assert policy["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8000}]


def _blocked(policy: Any, address: str) -> bool:
    """Whether the egress rules let ``address`` through (port aside)."""
    ip = ipaddress.ip_address(address)
    for rule in policy["spec"]["egress"]:
        for peer in rule["to"]:
            block = peer.get("ipBlock")
            if block is None:
                continue
            network = ipaddress.ip_network(block["cidr"])
            excepted = any(ip in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
            if ip.version == network.version and ip in network and not excepted:
                return False
    return True


def test_apps_reach_the_internet_but_not_the_cluster_nor_the_metadata_service() -> None:
    policy = make_network_policy(CPU_SPACE, POLICY)
    for internal in (
        "10.96.0.1",
        "10.244.3.17",
        "172.20.0.5",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.10",
    ):
        assert _blocked(policy, internal), internal
    for public in ("1.1.1.1", "151.101.0.223", "2606:4700::1111"):
        assert not _blocked(policy, public), public
    assert _blocked(policy, "fd00::1") and _blocked(policy, "fe80::1")


def test_an_admin_can_block_more() -> None:
    policy = make_network_policy(
        CPU_SPACE, replace(POLICY, blocked_cidrs=(*DEFAULT_BLOCKED_CIDRS, "203.0.113.0/24"))
    )
    assert _blocked(policy, "203.0.113.9")
