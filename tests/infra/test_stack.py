"""The whole dev stack (``__main__.py`` with ``Pulumi.dev.yaml``): graph, ordering, exports.

Also the properties every resource must have: manifests valid for Kubernetes, generated
secrets only inside secret values, every pod restricted with requests and limits.
"""

from __future__ import annotations

import importlib
from collections import Counter
from typing import Any

import kubernetes_validate
import pytest

from components import podspec
from tests.infra.harness import GENERATED_SECRET, Run, generated, outside_secrets
from tests.infra.k8s import all_pods

# The oldest Kubernetes minor still supported upstream in 2026-11 (kubernetes-validate
# 1.37.0 ships schemas for 1.25 to 1.37): a field newer than this fails here.
KUBERNETES_VERSION = "1.34.0"
NOT_BUILT_IN = ("kubernetes:helm.sh/", "kubernetes:argoproj.io/")
CLUSTER_SCOPED = {
    "Namespace",
    "CustomResourceDefinition",
    "ClusterRole",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
}


def built_ins(run: Run) -> list[dict[str, Any]]:
    return [
        r.manifest
        for r in run.resources
        if r.type.startswith("kubernetes:") and not r.type.startswith(NOT_BUILT_IN) and not r.read
    ]


def test_the_components_of_the_platform(dev_stack: Run) -> None:
    components = Counter(r.type for r in dev_stack.resources if not r.custom)
    assert components == {
        "agentic:platform:AgenticPlatform": 1,
        "agentic:crd:AgentWorkloadCrd": 1,
        "agentic:approval:ApprovalPolicy": 1,
        "agentic:network:NetworkPolicies": 1,
        "agentic:argo:ArgoWorkflows": 1,
        "agentic:minio:Minio": 1,
        "agentic:workloads:WorkloadNamespace": 2,
        "agentic:operator:Operator": 1,
    }


def test_every_kubernetes_resource_goes_through_the_stacks_own_provider(dev_stack: Run) -> None:
    """Never kubectl's current context: one explicit provider with the context the stack names."""
    (provider,) = dev_stack.of_type("pulumi:providers:kubernetes")
    assert provider.manifest["context"] == "kind-agentic"
    resources = [r for r in dev_stack.resources if r.type.startswith("kubernetes:")]
    assert resources
    assert {r.provider.rsplit("::", 1)[0] for r in resources} == {provider.urn}


@pytest.mark.parametrize(
    "token",
    [
        "agentic:platform:AgenticPlatform",
        "agentic:crd:AgentWorkloadCrd",
        "agentic:approval:ApprovalPolicy",
        "agentic:network:NetworkPolicies",
        "agentic:argo:ArgoWorkflows",
        "agentic:minio:Minio",
        "agentic:workloads:WorkloadNamespace",
        "agentic:operator:Operator",
    ],
)
def test_each_type_token_names_its_module_and_class(token: str) -> None:
    _, module, name = token.split(":")
    assert hasattr(importlib.import_module(f"components.{module}"), name)


def test_every_resource_descends_from_the_platform(dev_stack: Run) -> None:
    """All but the cluster's provider, which the program passes to the platform."""
    for resource in dev_stack.resources:
        if resource.type not in ("agentic:platform:AgenticPlatform", "pulumi:providers:kubernetes"):
            assert dev_stack.ancestors(resource)[-1] == "agentic:platform:AgenticPlatform", resource.name
            assert dev_stack.ancestors(resource)[0].startswith("agentic:"), resource.name


def test_what_the_stack_creates(dev_stack: Run) -> None:
    kinds = Counter(str(m["kind"]) for m in built_ins(dev_stack))
    assert kinds == {
        "Namespace": 4,  # platform, argo, team-a, team-b
        "CustomResourceDefinition": 1,
        "ClusterRole": 1,  # agentic-approver
        "ValidatingAdmissionPolicy": 1,  # approvals
        "ValidatingAdmissionPolicyBinding": 1,
        "Secret": 6,  # MinIO's root and its users' keys; per workload namespace: artifacts, the executor's token
        "Service": 1,
        "StatefulSet": 1,
        "Job": 1,
        "ServiceAccount": 3,  # operator, one executor per workload namespace
        "Role": 4,  # operator and executor, per workload namespace
        "RoleBinding": 4,
        "ConfigMap": 7,  # operator source, policies, MinIO users' policies; per workload namespace: agent policy, source
        "Deployment": 1,
        "NetworkPolicy": 6,  # one per workload namespace, four in the platform's
        "ResourceQuota": 2,  # one per workload namespace
        "LimitRange": 2,
    }
    assert len(dev_stack.of_type("kubernetes:argoproj.io/v1alpha1:WorkflowTemplate")) == 2
    assert len(dev_stack.of_type("kubernetes:helm.sh/v3:Release")) == 1


def test_names_are_unique_per_kind_and_namespace(dev_stack: Run) -> None:
    keys = Counter((m["kind"], m["metadata"].get("namespace"), m["metadata"]["name"]) for m in built_ins(dev_stack))
    assert [k for k, n in keys.items() if n > 1] == []


def test_only_namespaces_the_crd_and_the_approval_objects_are_cluster_scoped(dev_stack: Run) -> None:
    for manifest in built_ins(dev_stack):
        metadata = manifest["metadata"]
        assert ("namespace" in metadata) != (manifest["kind"] in CLUSTER_SCOPED), metadata


def test_platform_resources_wait_for_the_platform_namespace(dev_stack: Run) -> None:
    namespace = dev_stack.one("kubernetes:core/v1:Namespace", "agentic-system")
    for resource in dev_stack.resources:
        if resource.custom and resource.manifest.get("metadata", {}).get("namespace") == "agentic-system":
            assert namespace.urn in resource.dependencies, resource.name


def test_exports_say_what_to_do_next(dev_stack: Run) -> None:
    assert dev_stack.exports == {
        "kubeContext": "kind-agentic",
        "platformNamespace": "agentic-system",
        "workloadNamespaces": ["team-a", "team-b"],
        "minioEndpoint": "minio.agentic-system.svc.cluster.local:9000",
        "artifactBucket": "agentic-artifacts",
        "argoInstall": "helm",
        "argoNamespace": "argo",
        "argoServerService": "argo-workflows-server",
        "argoUi": "kubectl -n argo port-forward svc/argo-workflows-server 2746:2746"
        " # then open http://localhost:2746 and paste a token (client auth mode)",
        "workloads": "kubectl get aw -A",
        "workflows": "kubectl -n team-a get workflows ; kubectl -n team-b get workflows",
    }


def test_every_built_in_manifest_is_valid_kubernetes(dev_stack: Run) -> None:
    """Strict: an unknown or misspelt field fails as well as a wrong type."""
    manifests = built_ins(dev_stack)
    assert len(manifests) == 46
    for manifest in manifests:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_a_misspelt_field(dev_stack: Run) -> None:
    (manifest,) = [m for m in built_ins(dev_stack) if m["kind"] == "Deployment"]
    broken = {**manifest, "spec": {**manifest["spec"], "replica": 1}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_generated_credentials_appear_only_inside_secret_values(dev_stack: Run) -> None:
    """Not in ConfigMaps, chart values, template parameters or env values: only Secrets."""
    values = {generated(r.name) for r in dev_stack.of_type(GENERATED_SECRET)}
    assert len(values) == 6  # MinIO's root user and password; a user's two keys per workload namespace
    for resource in dev_stack.resources:
        if resource.type == GENERATED_SECRET:
            continue
        leaked = {v for v in outside_secrets(resource.inputs) if isinstance(v, str) and any(s in v for s in values)}
        assert leaked == set(), resource.name
    holders = {r.manifest["kind"] for r in dev_stack.resources if any(v in str(r.manifest) for v in values)}
    assert holders == {"Secret"}


def test_every_pod_runs_restricted_with_requests_and_limits(dev_stack: Run) -> None:
    pods = list(all_pods(dev_stack))
    assert len(pods) == 5  # operator, MinIO, bucket Job, two WorkflowTemplates
    for where, pod_context, containers in pods:
        assert pod_context["runAsNonRoot"] is True, where
        assert pod_context["seccompProfile"] == {"type": "RuntimeDefault"}, where
        for container in containers:
            assert container["securityContext"] == podspec.container_security_context(), (where, container)
            assert set(container["resources"]) == {"requests", "limits"}, (where, container)
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]) <= {"cpu", "memory", "ephemeral-storage"}
