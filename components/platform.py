"""AgenticPlatform: every component, in the order the cluster needs them.

Ordering (explicit ``depends_on``; the rest follows from Outputs):

- the platform namespace before MinIO and the operator (they live in it);
- Argo's chart (and with it Argo's CRDs) before each WorkflowTemplate, when the platform
  installs Argo (``argo.install: helm``; with ``external`` Argo and its CRDs are there);
- each workload namespace before what lives in it (inside ``WorkloadNamespace``);
- the MinIO StatefulSet before the bucket Job (inside ``Minio``);
- the AgentWorkload CRD and the workload namespaces (where its Roles go) before the
  operator, so it never starts watching a resource or namespace that is not there;
- the approval admission policy before the operator, so no approval it acts on was
  written without the server's check.

What ``pulumi destroy`` keeps (``retainOnDelete``, stack config ``retain.*``): the CRD
(deleting it deletes every AgentWorkload in the cluster) and MinIO's data (the platform
namespace, which holds the StatefulSet's volume claim).

Ref: https://www.pulumi.com/docs/iac/concepts/options/dependson/
Ref: https://www.pulumi.com/docs/iac/concepts/options/retainondelete/
"""

from __future__ import annotations

import pulumi

from agentic_operator import api
from components import bundle, minio, operator
from components.approval import ApprovalConfig, ApprovalPolicy
from components.argo import ArgoWorkflows
from components.base import Component
from components.config import PlatformConfig
from components.crd import AgentWorkloadCrd
from components.minio import Minio
from components.network import NetworkConfig, NetworkPolicies
from components.operator import Operator
from components.workloads import WorkloadConfig, WorkloadNamespace


def network_config(config: PlatformConfig) -> NetworkConfig:
    """Who talks to whom, from the stack config and the policy data's blocked networks."""
    policy = bundle.merged_config(config.operator.policy_dir, config.operator.policy_overrides)
    return NetworkConfig(
        platform_namespace=config.namespace,
        argo_namespace=config.argo.namespace,
        workload_namespaces=config.workload_namespaces,
        minio_port=minio.API_PORT,
        service_urls=(config.template.browserless_url, config.template.litellm_url),
        blocked_networks=policy.get("blocked_networks") or {},
        operator_http_port=operator.HTTP_PORT,
        operator_reaches_pypi=config.operator.image is None,
    )


class AgenticPlatform(Component):
    """The whole platform for one stack."""

    def __init__(self, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:platform:AgenticPlatform", name, opts)
        self.namespace = self.namespace_child(
            config.namespace, component="agentic-platform", enforce="restricted", retain=config.minio.retain_data
        )
        self.crd = AgentWorkloadCrd(self.named("crd"), api.crd(), opts=self.child(retain=config.retain_crd))
        self.approvals = ApprovalPolicy(self.named("approvals"), ApprovalConfig(), opts=self.child(self.crd))
        external = config.argo.install == "external"
        self.argo = None if external else ArgoWorkflows(self.named("argo"), config.argo, opts=self.child())
        self.minio = Minio(self.named("minio"), config.minio, opts=self.child(self.namespace))
        policies = bundle.policies(config.operator.policy_dir, config.operator.policy_overrides)
        policy_data = policies.data.get(bundle.DATA_FILE, "")
        self.workloads = [
            WorkloadNamespace(
                self.named(f"workloads-{namespace}"),
                WorkloadConfig(
                    namespace=namespace,
                    template=config.template,
                    artifact_access_key=self.minio.tenants[namespace][0],
                    artifact_secret_key=self.minio.tenants[namespace][1],
                    database_dsn=config.database_dsn,
                    policy_data=policy_data,
                    requires=(self.argo.release,) if self.argo else (),
                    quota=config.quota,
                    artifact_repository=external,
                ),
                opts=self.child(),
            )
            for namespace in config.workload_namespaces
        ]
        self.network = NetworkPolicies(
            self.named("network"), network_config(config), opts=self.child(self.namespace, *self.workloads)
        )
        self.operator = Operator(
            self.named("operator"),
            config.operator,
            opts=self.child(self.namespace, self.crd, self.approvals, *self.workloads),
        )
        self.register_outputs(
            {
                "namespace": config.namespace,
                "workload_namespaces": list(config.workload_namespaces),
                "minio_endpoint": self.minio.endpoint,
                "bucket": self.minio.bucket,
                "argo_namespace": config.argo.namespace,
                "argo_install": config.argo.install,
                "approver_role": self.approvals.role.metadata.apply(lambda m: m.name),
            }
        )
