"""NetworkPolicies, rule by rule: who may reach whom, as rendered for the dev stack.

Egress is also checked by meaning: :func:`allows` evaluates the rendered ipBlock rules
as the NetworkPolicy API defines them (a peer matches an address inside its ``cidr`` and
outside every ``except``; a port entry without ``port`` means every port of its
protocol), for destinations an attacker would try. The real API server accepts these
objects (tests/cluster/test_network.py); whether packets are dropped is the CNI's work,
which no test here can run (kwok runs no pods' network).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

import pytest

from components import bundle, network
from tests.infra.conftest import dev_config, run_main
from tests.infra.harness import API_SERVER_SLICE, Harness, Run

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
DNS = {
    "to": [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
}
API_SERVER = {"to": [{"ipBlock": {"cidr": "172.18.0.2/32"}}], "ports": [{"protocol": "TCP", "port": 6443}]}


def policy(run: Run, namespace: str, name: str) -> dict[str, Any]:
    (found,) = [
        r.manifest
        for r in run.of_type(NETWORK_POLICY)
        if (r.manifest["metadata"]["namespace"], r.manifest["metadata"]["name"]) == (namespace, name)
    ]
    return found


def allows(rules: list[dict[str, Any]], address: str, port: int, protocol: str = "TCP") -> bool:
    """Whether egress ``rules`` let a pod reach ``address:port`` by its ipBlock peers."""
    ip = ipaddress.ip_address(address)

    def in_block(block: Mapping[str, Any]) -> bool:
        cidr = ipaddress.ip_network(block["cidr"])
        if ip.version != cidr.version or ip not in cidr:
            return False
        return not any(
            ip in ipaddress.ip_network(e)
            for e in block.get("except", [])
            if ipaddress.ip_network(e).version == ip.version
        )

    def port_ok(ports: list[dict[str, Any]] | None) -> bool:
        return not ports or any(p.get("protocol", "TCP") == protocol and p.get("port", port) == port for p in ports)

    return any(
        port_ok(rule.get("ports"))
        and any("ipBlock" in peer and in_block(peer["ipBlock"]) for peer in rule.get("to", []))
        for rule in rules
    )


def test_every_workload_namespace_isolates_all_its_pods_both_ways(dev_stack: Run) -> None:
    for ns in ("team-a", "team-b"):
        spec = policy(dev_stack, ns, network.WORKFLOW_POLICY)["spec"]
        assert spec["podSelector"] == {}  # every pod: Argo's workflow pods and anything else run there
        assert spec["policyTypes"] == ["Ingress", "Egress"]
        assert "ingress" not in spec  # nothing may connect to a workflow pod


def test_workflow_pods_reach_dns_minio_their_services_the_api_server_and_the_internet(dev_stack: Run) -> None:
    egress = policy(dev_stack, "team-a", network.WORKFLOW_POLICY)["spec"]["egress"]
    dns, minio, services, api_server, internet = egress
    assert dns == DNS
    assert minio == {
        "to": [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "agentic-system"}},
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "minio"}},
            }
        ],
        "ports": [{"protocol": "TCP", "port": 9000}],
    }
    # Browserless and LiteLLM run in their own namespaces by default.
    assert services == {
        "to": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "browserless"}}},
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "litellm"}}},
        ]
    }
    assert api_server == API_SERVER  # the cluster's own default/kubernetes EndpointSlice
    assert internet["ports"] == [{"protocol": "TCP"}]
    assert [b["ipBlock"]["cidr"] for b in internet["to"]] == ["0.0.0.0/0", "::/0"]


@pytest.mark.parametrize(
    ("address", "port"),
    [
        ("10.96.0.1", 443),  # the kubernetes Service's ClusterIP
        ("10.244.1.7", 8080),  # another pod
        ("169.254.169.254", 80),  # cloud metadata
        ("127.0.0.1", 2746),
        ("192.168.1.1", 80),
        ("172.16.0.10", 9153),  # CoreDNS metrics
        ("100.64.0.1", 80),
        ("172.18.0.2", 10250),  # the API server's node, its kubelet port
        ("::1", 443),
        ("fd00::1", 443),
        ("fe80::1", 443),
        ("64:ff9b::7f00:1", 80),  # NAT64 of 127.0.0.1
    ],
)
def test_workflow_pods_reach_no_private_or_cluster_address(dev_stack: Run, address: str, port: int) -> None:
    egress = policy(dev_stack, "team-a", network.WORKFLOW_POLICY)["spec"]["egress"]
    assert not allows(egress, address, port)


@pytest.mark.parametrize(
    ("address", "port", "protocol"),
    [
        ("93.184.215.14", 443, "TCP"),
        ("1.1.1.1", 8080, "TCP"),
        ("2606:4700::1111", 443, "TCP"),
        ("172.18.0.2", 6443, "TCP"),
    ],
)
def test_workflow_pods_reach_public_addresses_and_the_api_server(
    dev_stack: Run, address: str, port: int, protocol: str
) -> None:
    egress = policy(dev_stack, "team-a", network.WORKFLOW_POLICY)["spec"]["egress"]
    assert allows(egress, address, port, protocol)


def test_no_udp_to_the_internet_only_to_the_cluster_dns(dev_stack: Run) -> None:
    egress = policy(dev_stack, "team-a", network.WORKFLOW_POLICY)["spec"]["egress"]
    assert not allows(egress, "8.8.8.8", 53, "UDP")


def test_every_blocked_network_of_the_policy_data_is_excepted() -> None:
    """The same list admission and the agent refuse: both ends of every block fall outside."""
    blocked = bundle.merged_config()["blocked_networks"]
    internet = network.public_blocks(blocked)
    rules = [{"to": internet}]
    for cidr in blocked:
        net = ipaddress.ip_network(cidr)
        if net.prefixlen:
            assert not allows(rules, str(net[0]), 443), cidr
            assert not allows(rules, str(net[-1]), 443), cidr


def test_a_stack_override_of_blocked_networks_reaches_the_excepts() -> None:
    """policy.data removes an entry (null) for admission and the NetworkPolicies alike."""
    run = run_main(Harness({**dev_config(), "policy.data": {"blocked_networks": {"100.64.0.0/10": None}}}))
    (ipv4, _) = policy(run, "team-a", network.WORKFLOW_POLICY)["spec"]["egress"][-1]["to"]
    assert "100.64.0.0/10" not in ipv4["ipBlock"]["except"]
    assert "10.0.0.0/8" in ipv4["ipBlock"]["except"]


def test_a_family_blocked_entirely_gets_no_block() -> None:
    assert [b["ipBlock"]["cidr"] for b in network.public_blocks({"::/0": "no IPv6"})] == ["0.0.0.0/0"]


@pytest.mark.parametrize(
    ("url", "peer"),
    [
        ("http://browserless.browserless.svc.cluster.local:3000", {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "browserless"}}}),
        ("http://llm.models.svc:4000", {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "models"}}}),
        ("http://10.0.5.5:4000", {"ipBlock": {"cidr": "10.0.5.5/32"}}),
        ("https://litellm.example.com", None),  # public: the internet rule covers it
    ],
)  # fmt: skip
def test_a_service_url_opens_its_namespace_or_address(url: str, peer: dict[str, Any] | None) -> None:
    assert network.service_peer(url) == peer


def test_the_platform_namespace_denies_everything_not_allowed_below(dev_stack: Run) -> None:
    spec = policy(dev_stack, "agentic-system", "agentic-default-deny")["spec"]
    assert spec == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_minio_accepts_its_api_from_workloads_argo_and_the_bucket_job_and_sends_nothing(dev_stack: Run) -> None:
    spec = policy(dev_stack, "agentic-system", "minio")["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "minio"}}
    assert spec["policyTypes"] == ["Ingress", "Egress"] and "egress" not in spec
    (ingress,) = spec["ingress"]
    assert ingress["ports"] == [{"protocol": "TCP", "port": 9000}]
    assert ingress["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-a"}}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-b"}}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "argo"}}},
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "minio-bucket"}}},
    ]


def test_the_bucket_job_reaches_dns_and_minio_only(dev_stack: Run) -> None:
    spec = policy(dev_stack, "agentic-system", "minio-bucket")["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "minio-bucket"}}
    assert "ingress" not in spec
    assert spec["egress"] == [
        DNS,
        {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "minio"}}}], "ports": [{"protocol": "TCP", "port": 9000}]},
    ]  # fmt: skip


def test_the_operator_reaches_dns_the_api_server_and_in_bundled_mode_pypi(dev_stack: Run) -> None:
    spec = policy(dev_stack, "agentic-system", "agentic-operator")["spec"]
    assert spec["ingress"] == [{"from": [{"namespaceSelector": {}}], "ports": [{"protocol": "TCP", "port": 8080}]}]
    dns, api_server, pypi = spec["egress"]
    assert (dns, api_server) == (DNS, API_SERVER)
    assert pypi["ports"] == [{"protocol": "TCP", "port": 443}]
    assert allows([pypi], "151.101.0.223", 443) and not allows([pypi], "10.0.0.1", 443)
    assert not allows(spec["egress"], "151.101.0.223", 80)


def test_in_image_mode_the_operator_reaches_no_internet() -> None:
    run = run_main(Harness({**dev_config(), "operator.image": "ghcr.io/agentic-dev/operator:1.0.0"}))
    assert policy(run, "agentic-system", "agentic-operator")["spec"]["egress"] == [DNS, API_SERVER]


def test_the_api_server_rule_is_read_from_the_clusters_endpoint_slice() -> None:
    assert network.api_server_of(API_SERVER_SLICE) == network.ApiServer(("172.18.0.2",), (6443,))
    two = {"endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["fd00::1"]}], "ports": [{"port": 443}]}
    assert network.api_server_rule(network.api_server_of(two)) == {
        "to": [{"ipBlock": {"cidr": "10.0.0.1/32"}}, {"ipBlock": {"cidr": "fd00::1/128"}}],
        "ports": [{"protocol": "TCP", "port": 443}],
    }
    assert network.api_server_rule(network.api_server_of(None)) is None


def test_policies_wait_for_their_namespaces_and_live_in_their_component(dev_stack: Run) -> None:
    for resource in dev_stack.of_type(NETWORK_POLICY):
        namespace = dev_stack.one("kubernetes:core/v1:Namespace", resource.manifest["metadata"]["namespace"])
        assert namespace.urn in resource.dependencies, resource.name
        assert dev_stack.ancestors(resource)[0] == "agentic:network:NetworkPolicies"
    assert len(dev_stack.of_type(NETWORK_POLICY)) == 6  # two workload namespaces, four in the platform's


def test_the_endpoint_slice_is_read_through_the_stacks_provider(dev_stack: Run) -> None:
    """A read, never a resource the stack owns, on the cluster the stack names (the real
    engine reads it through the same provider: tests/cluster/test_pulumi.py)."""
    (read,) = [r for r in dev_stack.resources if r.read]
    assert (read.type, read.name) == ("kubernetes:discovery.k8s.io/v1:EndpointSlice", "agentic-network-api-server")
    # The inputs the provider reports for it on `pulumi refresh`: so refresh finds no drift.
    assert read.manifest == {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default"},
    }
    (provider,) = dev_stack.of_type("pulumi:providers:kubernetes")
    assert read.provider.rsplit("::", 1)[0] == provider.urn
    assert dev_stack.ancestors(read)[0] == "agentic:network:NetworkPolicies"
