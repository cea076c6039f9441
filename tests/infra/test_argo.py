"""ArgoWorkflows: the official chart, pinned, with the values the platform relies on."""

from __future__ import annotations

from typing import Any

from components import podspec, template
from tests.infra.harness import Registered, Run

RELEASE = "kubernetes:helm.sh/v3:Release"


def release(run: Run) -> Registered:
    return run.one(RELEASE)


def values(run: Run) -> dict[str, Any]:
    result: dict[str, Any] = release(run).manifest["values"]
    return result


def test_the_official_chart_at_a_pinned_version(dev_stack: Run) -> None:
    inputs = release(dev_stack).manifest
    assert inputs["chart"] == "argo-workflows"
    assert inputs["version"] == "1.0.18"
    assert inputs["repositoryOpts"] == {"repo": "https://argoproj.github.io/argo-helm"}
    assert (inputs["name"], inputs["namespace"]) == ("argo-workflows", "argo")


def test_crds_come_from_the_chart_offline_and_are_kept(dev_stack: Run) -> None:
    assert values(dev_stack)["crds"] == {"install": True, "keep": True, "full": False}


def test_the_controller_serves_the_workload_namespaces_with_our_rbac(dev_stack: Run) -> None:
    v = values(dev_stack)
    assert v["controller"]["workflowNamespaces"] == ["team-a", "team-b"]
    assert v["singleNamespace"] is False
    assert v["workflow"] == {"serviceAccount": {"create": False}, "rbac": {"create": False}}
    assert v["controller"]["clusterWorkflowTemplates"] == {"enabled": False}


def test_the_server_is_on_and_never_anonymous(dev_stack: Run) -> None:
    server = values(dev_stack)["server"]
    assert server["enabled"] is True
    assert server["authModes"] == ["client"]
    assert server["clusterWorkflowTemplates"] == {"enabled": False, "enableEditing": False}


def test_the_default_artifact_repository_is_minio_with_the_workload_secret(dev_stack: Run) -> None:
    v = values(dev_stack)
    assert v["useStaticCredentials"] is True
    assert v["artifactRepository"]["s3"] == {
        "endpoint": "minio.agentic-system.svc.cluster.local:9000",
        "bucket": "agentic-artifacts",
        "insecure": True,
        "accessKeySecret": {"name": template.ARTIFACT_SECRET, "key": template.ACCESS_KEY},
        "secretKeySecret": {"name": template.ARTIFACT_SECRET, "key": template.SECRET_KEY},
    }


def test_argo_and_the_executor_run_restricted_with_limits(dev_stack: Run) -> None:
    v = values(dev_stack)
    for part in ("controller", "server", "executor"):
        assert v[part]["securityContext"] == podspec.container_security_context(), part
        assert set(v[part]["resources"]) == {"requests", "limits"}, part
    for part in ("controller", "server"):
        assert v[part]["podSecurityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def test_the_release_waits_for_its_namespace(dev_stack: Run) -> None:
    namespace = dev_stack.one("kubernetes:core/v1:Namespace", "argo")
    assert namespace.urn in release(dev_stack).dependencies
    assert namespace.manifest["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
