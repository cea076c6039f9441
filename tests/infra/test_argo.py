"""ArgoWorkflows: the official chart, pinned, with the values the platform relies on."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from components import argo, podspec, template
from tests.infra.conftest import dev_config, run_main
from tests.infra.harness import Harness, Registered, Run

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


@pytest.fixture(scope="module")
def external_argo() -> Run:
    return run_main(Harness({**dev_config(), "argo.install": "external"}))


def test_with_an_external_argo_there_is_no_chart_and_no_argo_namespace(external_argo: Run) -> None:
    assert external_argo.of_type(RELEASE) == []
    assert external_argo.of_type("agentic:argo:ArgoWorkflows") == []
    namespaces = {r.manifest["metadata"]["name"] for r in external_argo.of_type("kubernetes:core/v1:Namespace")}
    assert namespaces == {"agentic-system", "team-a", "team-b"}
    assert "argoServerService" not in external_argo.exports
    assert external_argo.exports["argoInstall"] == "external"


def test_an_external_argo_finds_minio_as_each_namespaces_default_repository(external_argo: Run) -> None:
    """Argo reads ``artifact-repositories`` in the workflow's namespace (the chart's default
    repository is not there to fall back on)."""
    maps = [r.manifest for r in external_argo.of_type("kubernetes:core/v1:ConfigMap")]
    repositories = [m for m in maps if m["metadata"]["name"] == argo.ARTIFACT_REPOSITORIES]
    assert sorted(m["metadata"]["namespace"] for m in repositories) == ["team-a", "team-b"]
    for manifest in repositories:
        key = manifest["metadata"]["annotations"]["workflows.argoproj.io/default-artifact-repository"]
        s3 = yaml.safe_load(manifest["data"][key])["s3"]
        assert s3["endpoint"] == "minio.agentic-system.svc.cluster.local:9000"
        assert s3["accessKeySecret"] == {"name": template.ARTIFACT_SECRET, "key": template.ACCESS_KEY}


def test_the_chart_and_the_configmap_describe_one_repository(dev_stack: Run, external_argo: Run) -> None:
    (manifest, *_) = [
        r.manifest
        for r in external_argo.of_type("kubernetes:core/v1:ConfigMap")
        if r.manifest["metadata"]["name"] == argo.ARTIFACT_REPOSITORIES
    ]
    chart = values(dev_stack)["artifactRepository"]
    assert yaml.safe_load(manifest["data"][argo.DEFAULT_REPOSITORY_KEY]) == chart
