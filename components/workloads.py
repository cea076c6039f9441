"""WorkloadNamespace: one namespace where AgentWorkloads run, with all a Workflow needs.

- The Namespace, Pod Security ``restricted`` enforced: the agent's container and the
  init/wait containers Argo adds to every workflow pod all pass it (proven with Argo's
  controller in tests/cluster/test_workflow_pods.py).
- The executor ServiceAccount and a Role with exactly what Argo's emissary executor
  needs: ``workflowtaskresults`` create and patch (it reports outputs through them); its
  token Secret, which Argo mounts into its own init and wait containers only, since the
  template mounts no token (``automountServiceAccountToken: false``).
- The artifact credentials Secret: Argo reads artifact credentials from the Workflow's
  own namespace, so each workload namespace holds the keys of its own MinIO user
  (:mod:`components.tenants`: its prefix only), never MinIO's root.
- The database DSN Secret, when configured: steps read it through ``secretKeyRef``.
- A ResourceQuota and a LimitRange (:mod:`components.quotas`, stack keys ``quota.*`` and
  ``limits.*``).
- ConfigMaps for the agent: the policy data (its fetch-time guard reads the same
  ``blocked_networks`` admission does) and, in bundled mode, the agent's source.
- The ``visual-analysis-template`` WorkflowTemplate, created after Argo (its CRDs).
- With an Argo installed elsewhere (``argo.install: external``), the
  ``artifact-repositories`` ConfigMap: MinIO as this namespace's default artifact
  repository, which that Argo's controller reads here (the chart configures its own).

Why a namespaced WorkflowTemplate in each namespace rather than one
ClusterWorkflowTemplate: the operator creates Workflows with
``workflowTemplateRef: {name}`` in the workload's namespace (a Workflow can only name a
template of its own namespace that way), the executor ServiceAccount and Secrets it
refers to are per-namespace anyway, a namespace owner can read (or be given a variant
of) their template without cluster-wide rights, and Argo's ClusterWorkflowTemplate
RBAC stays disabled.

Ref: https://argo-workflows.readthedocs.io/en/latest/workflow-rbac/
Ref: https://argo-workflows.readthedocs.io/en/latest/configure-artifact-repository/
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import argo, podspec, quotas, template
from components.base import Component, raw

# Every pod there, Argo's init and wait containers included (the chart's executor
# securityContext and the template's pod-level non-root user make them pass).
POD_SECURITY = "restricted"
# Argo's emissary executor reports outputs through WorkflowTaskResults; nothing else.
# Ref: https://argo-workflows.readthedocs.io/en/latest/workflow-rbac/
EXECUTOR_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]}
]


def executor_token(namespace: str) -> dict[str, Any]:
    """The executor's token Secret, for Argo's init and wait containers (the agent gets none).

    The token controller fills a Secret of this type for the account it names; Argo finds
    it by name when the pod mounts no token of its own.
    Ref: https://kubernetes.io/docs/concepts/security/service-accounts/#get-a-token
    """
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": template.EXECUTOR_TOKEN_SECRET,
            "namespace": namespace,
            "labels": podspec.labels("agentic-workloads"),
            "annotations": {"kubernetes.io/service-account.name": template.EXECUTOR_SERVICE_ACCOUNT},
        },
        "type": "kubernetes.io/service-account-token",
    }


@dataclass(frozen=True)
class WorkloadConfig:
    """One workload namespace: the template's settings and the values of its Secrets."""

    namespace: str
    template: template.TemplateSettings
    artifact_access_key: pulumi.Input[str]
    artifact_secret_key: pulumi.Input[str]
    database_dsn: pulumi.Input[str] | None = None
    # policies/data.json with the stack's overrides (components.bundle.policies), as text.
    policy_data: str = ""
    # What the WorkflowTemplate needs first: Argo's CRDs (the chart release).
    requires: Sequence[pulumi.Resource] = ()
    quota: quotas.QuotaConfig = field(default_factory=quotas.QuotaConfig)
    # Argo was installed elsewhere: tell it where this namespace's artifacts go.
    artifact_repository: bool = False


class WorkloadNamespace(Component):
    """A workload namespace with executor RBAC, Secrets and the WorkflowTemplate."""

    def __init__(self, name: str, config: WorkloadConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:workloads:WorkloadNamespace", name, opts)
        labels = podspec.labels("agentic-workloads")
        self.namespace = self.namespace_child(config.namespace, component="agentic-workloads", enforce=POD_SECURITY)
        ns = self.namespace.metadata.apply(lambda m: m.name)  # every child waits for the namespace

        def meta(name: str) -> Any:
            return raw({"name": name, "namespace": ns, "labels": labels})

        account = template.EXECUTOR_SERVICE_ACCOUNT
        self.service_account = k8s.core.v1.ServiceAccount(
            self.named("executor"), metadata=meta(account), opts=self.child()
        )
        self.role_binding = self.bound_role(
            "executor", meta(account), EXECUTOR_RULES, self.service_account, config.namespace
        )
        token = executor_token(config.namespace)
        self.executor_token = k8s.core.v1.Secret(
            self.named("executor-token"),
            metadata=raw({**token["metadata"], "namespace": ns}),
            type=token["type"],
            opts=self.child(self.service_account),
        )
        store = config.template.artifacts
        self.artifact_secret = k8s.core.v1.Secret(
            self.named("artifacts"),
            metadata=meta(store.secret),
            type="Opaque",
            string_data={
                store.access_key: pulumi.Output.secret(config.artifact_access_key),
                store.secret_key: pulumi.Output.secret(config.artifact_secret_key),
            },
            opts=self.child(),
        )
        self.database_secret = None
        if config.database_dsn is not None:
            self.database_secret = k8s.core.v1.Secret(
                self.named("database"),
                metadata=meta(template.DATABASE_SECRET),
                type="Opaque",
                string_data={template.DATABASE_KEY: pulumi.Output.secret(config.database_dsn)},
                opts=self.child(),
            )
        quota = quotas.resource_quota(config.namespace, config.quota)
        self.resource_quota = k8s.core.v1.ResourceQuota(
            self.named("quota"),
            metadata=raw({**quota["metadata"], "namespace": ns}),
            spec=raw(quota["spec"]),
            opts=self.child(),
        )
        limits = quotas.limit_range(config.namespace, config.quota)
        self.limit_range = k8s.core.v1.LimitRange(
            self.named("limits"),
            metadata=raw({**limits["metadata"], "namespace": ns}),
            spec=raw(limits["spec"]),
            opts=self.child(),
        )
        self.config_maps = [
            k8s.core.v1.ConfigMap(
                self.named("agent-policy"),
                metadata=meta(template.AGENT_POLICY_CONFIGMAP),
                data={template.POLICY_DATA_KEY: config.policy_data},
                opts=self.child(),
            )
        ]
        if config.template.agent_bundle is not None:
            self.config_maps.append(
                k8s.core.v1.ConfigMap(
                    self.named("agent-source"),
                    metadata=meta(template.AGENT_SOURCE_CONFIGMAP),
                    data=config.template.agent_bundle.data,
                    opts=self.child(),
                )
            )
        self.artifact_repositories = None
        if config.artifact_repository:
            repositories = argo.artifact_repositories(store, config.namespace)
            self.artifact_repositories = k8s.core.v1.ConfigMap(
                self.named("artifact-repositories"),
                metadata={**meta(repositories["metadata"]["name"]), **repositories["metadata"]},
                data=repositories["data"],
                opts=self.child(),
            )
        manifest = template.workflow_template(config.template)
        self.workflow_template = k8s.apiextensions.CustomResource(
            self.named("template"),
            api_version=manifest["apiVersion"],
            kind=manifest["kind"],
            metadata={**manifest["metadata"], "namespace": ns},
            spec=manifest["spec"],
            # Pods only ever start under the namespace's quota and limits.
            opts=self.child(
                *config.requires,
                self.service_account,
                self.executor_token,
                self.artifact_secret,
                self.resource_quota,
                self.limit_range,
                *self.config_maps,
            ),
        )
        self.namespace_name = ns
        self.register_outputs(
            {
                "namespace": ns,
                "workflow_template": manifest["metadata"]["name"],
                "service_account": self.service_account.metadata.apply(lambda m: m.name),
            }
        )
