"""ArgoWorkflows: the official chart, pinned, with the values the platform relies on."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from components import argo, podspec, template
from tests.infra.conftest import dev_config, run_main
from tests.infra.harness import Harness, Registered, Run, generated

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
        # Under the Workflow's namespace (Argo substitutes workflow.namespace in keyFormat),
        # the only prefix that namespace's MinIO user may write.
        "keyFormat": "{{workflow.namespace}}/{{workflow.name}}/{{pod.name}}",
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


def repositories(run: Run) -> dict[str, dict[str, Any]]:
    """Each workload namespace's default repository, from its ``artifact-repositories``."""
    found = {}
    for resource in run.of_type("kubernetes:core/v1:ConfigMap"):
        manifest = resource.manifest
        if manifest["metadata"]["name"] == argo.ARTIFACT_REPOSITORIES:
            key = manifest["metadata"]["annotations"]["workflows.argoproj.io/default-artifact-repository"]
            found[manifest["metadata"]["namespace"]] = yaml.safe_load(manifest["data"][key])
    return found


def test_an_external_argo_finds_minio_as_each_namespaces_default_repository(external_argo: Run) -> None:
    """Argo reads ``artifact-repositories`` in the workflow's namespace (the chart's default
    repository is not there to fall back on): MinIO, with that namespace's own MinIO user
    (the Secret of that name there) and keys under its own prefix."""
    found = repositories(external_argo)
    assert sorted(found) == ["team-a", "team-b"]
    for namespace, repository in found.items():
        s3 = repository["s3"]
        assert s3["endpoint"] == "minio.agentic-system.svc.cluster.local:9000"
        assert s3["keyFormat"] == f"{namespace}/{{{{workflow.name}}}}/{{{{pod.name}}}}"
        assert s3["accessKeySecret"] == {"name": template.ARTIFACT_SECRET, "key": template.ACCESS_KEY}
        assert s3["secretKeySecret"] == {"name": template.ARTIFACT_SECRET, "key": template.SECRET_KEY}
        (secret,) = [
            r.manifest
            for r in external_argo.of_type("kubernetes:core/v1:Secret")
            if r.manifest["metadata"] == {**r.manifest["metadata"], "name": template.ARTIFACT_SECRET}
            and r.manifest["metadata"]["namespace"] == namespace
        ]
        assert secret["stringData"] == {
            template.ACCESS_KEY: generated(f"agentic-minio-{namespace}-access-key"),
            template.SECRET_KEY: generated(f"agentic-minio-{namespace}-secret-key"),
        }


def test_the_chart_and_the_configmap_describe_one_repository(dev_stack: Run, external_argo: Run) -> None:
    """The same store; only the prefix is spelled out per namespace."""
    chart = values(dev_stack)["artifactRepository"]
    for namespace, repository in repositories(external_argo).items():
        spelled = chart["s3"]["keyFormat"].replace("{{workflow.namespace}}", namespace)
        assert repository == {**chart, "s3": {**chart["s3"], "keyFormat": spelled}}
