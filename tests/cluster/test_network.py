"""The real API server accepts every NetworkPolicy the platform renders.

Server-side dry run: validation and admission as for a real create, nothing stored.
kwok runs no pod network, so nothing here (or anywhere in this repository) shows that
a CNI drops what the policies refuse: that needs a cluster with a NetworkPolicy-enforcing
network plugin (Calico, Cilium, kindnet >= v0.24). What this proves is that the objects
are valid for Kubernetes 1.34 (every ipBlock ``except`` inside its ``cidr``, selectors and
ports well formed) and that the API server's own ``default/kubernetes`` EndpointSlice,
which the component reads, has the shape ``network.api_server_of`` expects.
"""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from components import bundle, network
from tests.cluster.controlplane import ControlPlane

PLATFORM, WORKLOADS = "net-platform", ("net-team-a", "net-team-b")


def config() -> network.NetworkConfig:
    return network.NetworkConfig(
        platform_namespace=PLATFORM,
        argo_namespace="argo",
        workload_namespaces=WORKLOADS,
        minio_port=9000,
        service_urls=("http://browserless.browserless.svc.cluster.local:3000", "http://10.0.5.5:4000"),
        blocked_networks=bundle.merged_config()["blocked_networks"],
        operator_http_port=8080,
        operator_reaches_pypi=True,
    )


def test_the_api_servers_endpoint_slice_names_its_addresses_and_port(cluster: ControlPlane) -> None:
    slice_ = cluster.kube().get("discovery.k8s.io/v1", "EndpointSlice", "kubernetes", namespace="default")
    server = network.api_server_of(slice_)
    assert server.addresses and server.ports, slice_
    assert str(server.ports[0]) in cluster.server  # the port the admin kubeconfig reaches it on


def test_the_server_accepts_every_rendered_network_policy(cluster: ControlPlane) -> None:
    kube = cluster.kube()
    for ns in (PLATFORM, *WORKLOADS):
        kube.namespace(ns)
    server = network.api_server_of(kube.get("discovery.k8s.io/v1", "EndpointSlice", "kubernetes", namespace="default"))
    rendered = [
        *(network.workflow_policy(config(), ns, server) for ns in WORKLOADS),
        *network.platform_policies(config(), server),
    ]
    for policy in rendered:
        accepted = kube.create(policy, dry_run=True)
        assert accepted["spec"]["policyTypes"] == policy["spec"]["policyTypes"], policy["metadata"]
    assert not kube.objects("networking.k8s.io/v1", "NetworkPolicy", namespace=PLATFORM)  # a dry run stores nothing


def test_the_server_refuses_an_except_outside_its_block(cluster: ControlPlane) -> None:
    """The check the test above relies on is the server's: a bad ipBlock is refused."""
    kube = cluster.kube()
    kube.namespace(PLATFORM)
    bad = network.platform_policies(config(), network.ApiServer(("10.0.0.1",), (6443,)))[0]
    bad["spec"]["egress"] = [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}}]}]
    bad["spec"]["policyTypes"] = ["Egress"]
    with pytest.raises(ApiException) as refused:
        kube.create(bad, dry_run=True)
    assert refused.value.status == 422 and "must be a strict subset of `cidr`" in str(refused.value.body)
