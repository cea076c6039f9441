"""WorkloadNamespace: namespace, executor RBAC, artifact and DSN Secrets, the template."""

from __future__ import annotations

from typing import Any

from agentic_operator import api
from components import config, template
from tests.infra.harness import Registered, Run, generated, is_secret
from tests.infra.k8s import WORKFLOW_TEMPLATE

NAMESPACES = ("team-a", "team-b")


def in_namespace(run: Run, type_: str, namespace: str) -> list[Registered]:
    return [r for r in run.of_type(type_) if r.manifest["metadata"].get("namespace") == namespace]


def named(run: Run, type_: str, namespace: str, name: str) -> Registered:
    (found,) = [r for r in in_namespace(run, type_, namespace) if r.manifest["metadata"]["name"] == name]
    return found


def test_each_workload_namespace_exists_with_pod_security_labels(dev_stack: Run) -> None:
    for ns in NAMESPACES:
        labels = dev_stack.one("kubernetes:core/v1:Namespace", ns).manifest["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"  # issue 11: was baseline
        assert labels["pod-security.kubernetes.io/warn"] == "restricted"


def test_the_executor_may_only_report_task_results(dev_stack: Run) -> None:
    """Argo's emissary executor needs workflowtaskresults create/patch, nothing else."""
    account = template.EXECUTOR_SERVICE_ACCOUNT
    for ns in NAMESPACES:
        role = named(dev_stack, "kubernetes:rbac.authorization.k8s.io/v1:Role", ns, account).manifest
        assert role["rules"] == [
            {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]}
        ]
        binding = named(dev_stack, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", ns, account).manifest
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": ns}]
        named(dev_stack, "kubernetes:core/v1:ServiceAccount", ns, account)


def test_each_namespace_holds_its_own_minio_users_keys_never_root(dev_stack: Run) -> None:
    """Issue 11: one artifact user (MinIO's readwrite, every bucket) was copied into every namespace."""
    for ns in NAMESPACES:
        secret = named(dev_stack, "kubernetes:core/v1:Secret", ns, template.ARTIFACT_SECRET)
        assert is_secret(secret.inputs["stringData"])
        assert secret.manifest["stringData"] == {
            template.ACCESS_KEY: generated(f"agentic-minio-{ns}-access-key"),
            template.SECRET_KEY: generated(f"agentic-minio-{ns}-secret-key"),
        }
    secrets = [named(dev_stack, "kubernetes:core/v1:Secret", ns, template.ARTIFACT_SECRET) for ns in NAMESPACES]
    assert secrets[0].manifest["stringData"] != secrets[1].manifest["stringData"]


def test_no_database_secret_unless_a_dsn_is_configured(dev_stack: Run) -> None:
    for ns in NAMESPACES:
        secrets = in_namespace(dev_stack, "kubernetes:core/v1:Secret", ns)
        assert sorted(s.manifest["metadata"]["name"] for s in secrets) == sorted(
            [template.ARTIFACT_SECRET, template.EXECUTOR_TOKEN_SECRET]
        )


def test_the_executor_token_is_a_service_account_token_secret_argo_finds_by_name(dev_stack: Run) -> None:
    """The template mounts no token; Argo mounts this one into its init and wait containers."""
    for ns in NAMESPACES:
        secret = named(dev_stack, "kubernetes:core/v1:Secret", ns, "agentic-workflow.service-account-token")
        assert secret.manifest["type"] == "kubernetes.io/service-account-token"
        assert secret.manifest["metadata"]["annotations"] == {"kubernetes.io/service-account.name": "agentic-workflow"}
        assert "data" not in secret.manifest and "stringData" not in secret.manifest  # the token controller fills it
        account = named(dev_stack, "kubernetes:core/v1:ServiceAccount", ns, template.EXECUTOR_SERVICE_ACCOUNT)
        assert account.urn in secret.dependencies
        (workflow_template,) = in_namespace(dev_stack, WORKFLOW_TEMPLATE, ns)
        assert secret.urn in workflow_template.dependencies


def _settings(run: Run) -> dict[str, Any]:
    steps = [t for t in run.of_type(WORKFLOW_TEMPLATE)[0].manifest["spec"]["templates"] if "container" in t]
    return {e["name"]: e.get("value") for step in steps for e in step["container"]["env"]}


def test_each_namespace_gets_the_template_the_pure_builder_renders(dev_stack: Run) -> None:
    env = _settings(dev_stack)
    settings = config.template_settings(  # no template.agentImage in the dev stack: the bundled agent
        "agentic-system", browserless_url=env["BROWSERLESS_URL"], litellm_url=env["LITELLM_URL"]
    )
    expected = template.workflow_template(settings)
    for ns in NAMESPACES:
        (resource,) = in_namespace(dev_stack, WORKFLOW_TEMPLATE, ns)
        manifest = resource.manifest
        assert manifest["metadata"] == {**expected["metadata"], "namespace": ns}
        assert manifest["spec"] == expected["spec"]
        assert manifest["metadata"]["name"] == api.DEFAULT_TEMPLATE


def test_the_template_waits_for_argo_and_what_it_refers_to(dev_stack: Run) -> None:
    release = dev_stack.one("kubernetes:helm.sh/v3:Release")
    for ns in NAMESPACES:
        (resource,) = in_namespace(dev_stack, WORKFLOW_TEMPLATE, ns)
        account = named(dev_stack, "kubernetes:core/v1:ServiceAccount", ns, template.EXECUTOR_SERVICE_ACCOUNT)
        secret = named(dev_stack, "kubernetes:core/v1:Secret", ns, template.ARTIFACT_SECRET)
        namespace = dev_stack.one("kubernetes:core/v1:Namespace", ns)
        assert {release.urn, account.urn, secret.urn, namespace.urn} <= set(resource.dependencies)
