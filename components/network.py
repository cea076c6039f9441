"""NetworkPolicies: each pod the platform runs reaches only what it needs.

Workload namespaces (``agentic-workflows``, every pod there: Argo's workflow pods):
no ingress; egress to the cluster DNS, MinIO's API, the namespaces of in-cluster
Browserless and LiteLLM, the API server (Argo's ``wait`` container reports outputs
through WorkflowTaskResults; the agent container holds no token), and the public
internet over TCP: every address except the policy data's ``blocked_networks``, the same
list the admission policy and the agent's fetch-time check refuse (private, loopback,
link-local and cloud metadata, CGNAT, every special-purpose block, the IPv6 forms that
reach IPv4). Kubernetes ANDs nothing here: rules are allowed unions, so the explicit
MinIO, DNS and API server rules open exactly those private addresses and ports.

The platform namespace: a default deny for every pod, then MinIO (ingress on its API
port from the workload namespaces, Argo's namespace (the Argo Server shows artifacts) and
the bucket Job; no egress), the bucket Job (DNS and MinIO) and the operator (DNS, the API
server, PyPI over public TCP 443 in bundled mode for its pip init container; ingress on
its HTTP port, health and metrics, from pods in the cluster). Kubelet probes are not
subject to NetworkPolicies.

The API server's addresses are read from the cluster (``default/kubernetes``
EndpointSlice) when Pulumi runs: a NetworkPolicy cannot select the API server, which
is not a pod. If the control plane moves, run ``pulumi up`` again.

Enforcement is the CNI's: on a cluster whose network plugin does not implement
NetworkPolicies (kind before v0.24, flannel) they are accepted and do
nothing.

Ref: https://kubernetes.io/docs/concepts/services-networking/network-policies/
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

from components import podspec
from components.base import Component, raw

API_VERSION = "networking.k8s.io/v1"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace
DNS_NAMESPACE = "kube-system"
DNS_LABELS = {"k8s-app": "kube-dns"}  # CoreDNS keeps kube-dns's label in kubeadm, kind, GKE, EKS, AKS
WORKFLOW_POLICY = "agentic-workflows"
# The API server's endpoints, kept by the API server itself (<namespace>/<name>).
API_SERVER_SLICE = "default/kubernetes"
ENDPOINT_SLICE_TYPE = "kubernetes:discovery.k8s.io/v1:EndpointSlice"
_ALL_FAMILIES = {4: "0.0.0.0/0", 6: "::/0"}


@dataclass(frozen=True)
class ApiServer:
    """Where the API server's endpoints are (addresses and TCP ports)."""

    addresses: tuple[str, ...]
    ports: tuple[int, ...]


@dataclass(frozen=True)
class NetworkConfig:
    platform_namespace: str
    argo_namespace: str
    workload_namespaces: tuple[str, ...]
    minio_port: int
    # The steps' service URLs (Browserless, LiteLLM): in-cluster ones open their namespace.
    service_urls: tuple[str, ...]
    # CIDR -> label (None removes an entry), the policy data's blocked_networks.
    blocked_networks: Mapping[str, str | None]
    operator_http_port: int
    operator_reaches_pypi: bool  # bundled mode: pip installs from PyPI at pod start


def _namespace(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: name}}}


def _pods(labels: Mapping[str, str], namespace: str | None = None) -> dict[str, Any]:
    peer: dict[str, Any] = {"podSelector": {"matchLabels": dict(labels)}}
    if namespace is not None:
        peer.update(_namespace(namespace))
    return peer


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def _named(component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": component}


def dns_rule() -> dict[str, Any]:
    """The cluster DNS (CoreDNS in kube-system), UDP and TCP 53."""
    ports = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    return {"to": [_pods(DNS_LABELS, DNS_NAMESPACE)], "ports": ports}


def api_server_rule(api_server: ApiServer) -> dict[str, Any] | None:
    """The API server's own addresses and ports (it is no pod a selector could name)."""
    if not api_server.addresses:
        return None
    blocks = [{"ipBlock": {"cidr": str(ipaddress.ip_network(a))}} for a in api_server.addresses]
    return {"to": blocks, "ports": _tcp(*api_server.ports)}


def public_blocks(blocked: Mapping[str, str | None]) -> list[dict[str, Any]]:
    """ipBlocks for every address outside ``blocked``: one per family, the rest as ``except``.

    ``except`` entries must lie inside the block; nested or adjacent ones are collapsed.
    A family blocked entirely (a /0 entry) gets no block.
    """
    networks = [ipaddress.ip_network(cidr) for cidr, label in blocked.items() if label is not None]
    blocks = []
    for family, everything in _ALL_FAMILIES.items():
        mine = [n for n in networks if n.version == family]
        if any(n.prefixlen == 0 for n in mine):
            continue
        excepted = [str(n) for n in ipaddress.collapse_addresses(mine)]  # type: ignore[type-var]  # one family
        block: dict[str, Any] = {"cidr": everything}
        if excepted:
            block["except"] = excepted
        blocks.append({"ipBlock": block})
    return blocks


def service_peer(url: str) -> dict[str, Any] | None:
    """The peer an in-cluster service URL needs: its namespace, or its literal address.

    ``http://<service>.<namespace>.svc[.<cluster domain>]:<port>`` opens the namespace on
    every port (a Service's port need not be its pods' port, which is what a
    NetworkPolicy sees). A public name needs nothing: the internet rule covers it.
    """
    host = urlsplit(url).hostname or ""
    labels = host.split(".")
    if len(labels) >= 3 and labels[2] == "svc":
        return _namespace(labels[1])
    try:
        return {"ipBlock": {"cidr": str(ipaddress.ip_network(host))}}
    except ValueError:
        return None


def _policy(name: str, namespace: str, selector: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": podspec.labels("agentic-network")},
        "spec": {"podSelector": dict(selector), **spec},
    }


def _without_none(rules: Iterable[dict[str, Any] | None]) -> list[dict[str, Any]]:
    return [r for r in rules if r is not None]


def workflow_policy(config: NetworkConfig, namespace: str, api_server: ApiServer) -> dict[str, Any]:
    """Every pod of a workload namespace: no ingress; DNS, MinIO, the steps' services,
    the API server and the public internet out."""
    minio = {"to": [_pods(_named("minio"), config.platform_namespace)], "ports": _tcp(config.minio_port)}
    services = [peer for url in config.service_urls if (peer := service_peer(url)) is not None]
    egress = _without_none(
        [
            dns_rule(),
            minio,
            {"to": services} if services else None,
            api_server_rule(api_server),
            {"to": public_blocks(config.blocked_networks), "ports": [{"protocol": "TCP"}]},
        ]
    )
    return _policy(WORKFLOW_POLICY, namespace, {}, {"policyTypes": ["Ingress", "Egress"], "egress": egress})


def platform_policies(config: NetworkConfig, api_server: ApiServer) -> list[dict[str, Any]]:
    """The platform namespace: default deny, then MinIO, the bucket Job and the operator."""
    ns = config.platform_namespace
    both = ["Ingress", "Egress"]
    minio_clients = [
        *(_namespace(workloads) for workloads in config.workload_namespaces),
        _namespace(config.argo_namespace),
        _pods(_named("minio-bucket")),
    ]
    minio_api = {"to": [_pods(_named("minio"))], "ports": _tcp(config.minio_port)}
    operator_egress = [dns_rule(), api_server_rule(api_server)]
    if config.operator_reaches_pypi:
        operator_egress.append({"to": public_blocks(config.blocked_networks), "ports": _tcp(443)})
    return [
        _policy("agentic-default-deny", ns, {}, {"policyTypes": both}),
        _policy(
            "minio",
            ns,
            {"matchLabels": _named("minio")},
            {"policyTypes": both, "ingress": [{"from": minio_clients, "ports": _tcp(config.minio_port)}]},
        ),
        _policy(
            "minio-bucket",
            ns,
            {"matchLabels": _named("minio-bucket")},
            {"policyTypes": both, "egress": [dns_rule(), minio_api]},
        ),
        _policy(
            "agentic-operator",
            ns,
            {"matchLabels": _named("agentic-operator")},
            {
                "policyTypes": both,
                "ingress": [
                    {"from": [{"namespaceSelector": {}}], "ports": _tcp(config.operator_http_port)},
                ],
                "egress": _without_none(operator_egress),
            },
        ),
    ]


def api_server_of(slice_: Mapping[str, Any] | None) -> ApiServer:
    """The addresses and TCP ports of an EndpointSlice (the ``default/kubernetes`` one)."""
    slice_ = slice_ or {}
    endpoints: Sequence[Mapping[str, Any]] = slice_.get("endpoints") or []
    addresses = tuple(a for e in endpoints for a in (e.get("addresses") or []))
    ports = tuple(int(p["port"]) for p in slice_.get("ports") or [] if p.get("protocol", "TCP") == "TCP")
    return ApiServer(addresses, ports)


def _spec(render: Callable[[ApiServer], list[dict[str, Any]]], index: int, server: ApiServer) -> Any:
    return raw(render(server)[index]["spec"])


class ApiServerSlice(pulumi.CustomResource):
    """A read of the ``default/kubernetes`` EndpointSlice, through the stack's provider.

    ``EndpointSlice.get`` would do the same read with no inputs, but ``pulumi refresh``
    then picks up the inputs the Kubernetes provider reports for the object (its
    ``apiVersion``, ``kind`` and name) and calls the read drifted on every refresh. So the
    read states those inputs itself; ``endpoints`` and ``ports`` are outputs only.

    Ref: https://www.pulumi.com/docs/iac/concepts/resources/get/
    """

    endpoints: pulumi.Output[Any]
    ports: pulumi.Output[Any]

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        namespace, slice_name = API_SERVER_SLICE.split("/")
        props = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": slice_name, "namespace": namespace},
            "endpoints": None,
            "ports": None,
        }
        read = pulumi.ResourceOptions(id=API_SERVER_SLICE)
        super().__init__(ENDPOINT_SLICE_TYPE, name, props, pulumi.ResourceOptions.merge(opts, read))


class NetworkPolicies(Component):
    """The NetworkPolicies of the platform namespace and of every workload namespace."""

    def __init__(self, name: str, config: NetworkConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:network:NetworkPolicies", name, opts)
        # Its own options, not the component's ``depends_on``: the slice is always there, and
        # a read waiting on resources a preview would create is skipped, leaving every
        # policy's spec unknown (a new workload namespace would seem to change them all).
        endpoints = ApiServerSlice(self.named("api-server"), opts=pulumi.ResourceOptions(parent=self))
        api_server = pulumi.Output.all(endpoints.endpoints, endpoints.ports).apply(
            lambda parts: api_server_of({"endpoints": parts[0], "ports": parts[1]})
        )

        def rendered(server: ApiServer) -> list[dict[str, Any]]:
            workflows = [workflow_policy(config, ns, server) for ns in config.workload_namespaces]
            return [*workflows, *platform_policies(config, server)]

        # Names and namespaces do not depend on the API server's addresses; only specs wait for them.
        self.policies = [
            k8s.networking.v1.NetworkPolicy(
                self.named(f"{policy['metadata']['namespace']}-{policy['metadata']['name']}"),
                metadata=raw(policy["metadata"]),
                spec=api_server.apply(partial(_spec, rendered, index)),
                opts=self.child(),
            )
            for index, policy in enumerate(rendered(ApiServer((), ())))
        ]
        self.register_outputs(
            {"policies": [p.metadata.apply(lambda m: f"{m.namespace}/{m.name}") for p in self.policies]}
        )
