"""The platform's own objects, rendered by the Pulumi program under mocks, created for real.

The scenarios run the operator and Argo against what ``pulumi up`` would create, not
against hand-written copies: the dev stack's ``__main__.py`` is run through the mock
harness (tests/infra/harness.py) with this tier's namespaces, and of what it registers
exactly these are created on the real API server:

- the AgentWorkload CRD and the namespaces (with their Pod Security labels: workload
  namespaces enforce ``restricted``);
- per workload namespace: the executor ServiceAccount, its Role and RoleBinding and its
  token Secret (which Argo mounts into its own containers only), the artifact Secret (the
  namespace's own MinIO user), the ResourceQuota and LimitRange, the workflow pods'
  NetworkPolicy, the agent's ConfigMaps and the ``visual-analysis-template``
  WorkflowTemplate (components/workloads.py, components/template.py);
- the operator's ServiceAccount with its Role and RoleBinding in each workload namespace
  (components/operator.py): the token the operator process logs in with has these
  rights and nothing more;
- the approval policy (components/approval.py: the ``agentic-approver`` ClusterRole,
  the ValidatingAdmissionPolicy and its binding), by :meth:`Platform.approval_policy`
  for the time its user asks (it binds every namespace: tests/cluster/approvals.py).

Not created: the Deployment (the operator runs as a process here, with the Deployment's
environment), MinIO and its bucket Job, the platform namespace's NetworkPolicies, the
Argo chart (Argo's controller runs from its own build, configured as the chart
configures it: :func:`controller_config`). kwok runs no network plugin: the
NetworkPolicies are stored, not enforced.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from kubernetes.client.exceptions import ApiException

from components import operator as operator_component
from components import template
from tests.cluster.argo import established
from tests.cluster.controlplane import ControlPlane, wait_for
from tests.infra.conftest import run_main
from tests.infra.harness import Harness, Run

_K8S = "kubernetes:"
CRD = f"{_K8S}apiextensions.k8s.io/v1:CustomResourceDefinition"
NAMESPACE = f"{_K8S}core/v1:Namespace"
SERVICE_ACCOUNT = f"{_K8S}core/v1:ServiceAccount"
ROLE = f"{_K8S}rbac.authorization.k8s.io/v1:Role"
ROLE_BINDING = f"{_K8S}rbac.authorization.k8s.io/v1:RoleBinding"
SECRET = f"{_K8S}core/v1:Secret"
RESOURCE_QUOTA = f"{_K8S}core/v1:ResourceQuota"
LIMIT_RANGE = f"{_K8S}core/v1:LimitRange"
NETWORK_POLICY = f"{_K8S}networking.k8s.io/v1:NetworkPolicy"
CLUSTER_ROLE = f"{_K8S}rbac.authorization.k8s.io/v1:ClusterRole"
ADMISSION_POLICY = f"{_K8S}admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
ADMISSION_POLICY_BINDING = f"{_K8S}admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
CONFIGMAP = f"{_K8S}core/v1:ConfigMap"
WORKFLOW_TEMPLATE = f"{_K8S}argoproj.io/v1alpha1:WorkflowTemplate"
DEPLOYMENT = f"{_K8S}apps/v1:Deployment"
HELM_RELEASE = f"{_K8S}helm.sh/v3:Release"


def _name(manifest: Mapping[str, Any]) -> str:
    return str(manifest["metadata"]["name"])


def _namespace(manifest: Mapping[str, Any]) -> str | None:
    namespace = manifest["metadata"].get("namespace")
    return str(namespace) if namespace else None


@dataclass(frozen=True)
class Platform:
    """What the Pulumi program renders for ``system_namespace`` and ``workload_namespaces``."""

    system_namespace: str
    workload_namespaces: tuple[str, ...]
    run: Run

    @classmethod
    def render(cls, system_namespace: str, workload_namespaces: Iterable[str]) -> Platform:
        namespaces = tuple(workload_namespaces)
        config = {"namespace": system_namespace, "workloadNamespaces": list(namespaces)}
        return cls(system_namespace, namespaces, run_main(Harness(config)))

    def manifests(self, type_: str) -> list[dict[str, Any]]:
        return [r.as_sent for r in self.run.of_type(type_)]

    def _in(self, type_: str, namespaces: Iterable[str], name: str | None = None) -> list[dict[str, Any]]:
        wanted = set(namespaces)
        return [m for m in self.manifests(type_) if _namespace(m) in wanted and name in (None, _name(m))]

    # -- what gets created ---------------------------------------------------------------

    @property
    def crd(self) -> dict[str, Any]:
        (crd,) = self.manifests(CRD)
        return crd

    @property
    def namespaces(self) -> list[dict[str, Any]]:
        wanted = {self.system_namespace, *self.workload_namespaces}
        return [m for m in self.manifests(NAMESPACE) if _name(m) in wanted]

    def namespace_objects(self) -> list[dict[str, Any]]:
        """Of every workload namespace: the executor's ServiceAccount, Role, RoleBinding and
        token Secret, the artifact Secret, the quota and limits, the workflow pods'
        NetworkPolicy, and the agent's ConfigMaps (its policy data, its bundled source)."""
        account = template.EXECUTOR_SERVICE_ACCOUNT
        namespaces = self.workload_namespaces
        return [
            *self._in(SERVICE_ACCOUNT, namespaces, account),
            *self._in(ROLE, namespaces, account),
            *self._in(ROLE_BINDING, namespaces, account),
            *self._in(SECRET, namespaces, template.EXECUTOR_TOKEN_SECRET),
            *self._in(SECRET, namespaces, template.ARTIFACT_SECRET),
            *self._in(RESOURCE_QUOTA, namespaces),
            *self._in(LIMIT_RANGE, namespaces),
            *self._in(NETWORK_POLICY, namespaces),
            *self._in(CONFIGMAP, namespaces, template.AGENT_POLICY_CONFIGMAP),
            *self._in(CONFIGMAP, namespaces, template.AGENT_SOURCE_CONFIGMAP),
        ]

    def workflow_templates(self) -> list[dict[str, Any]]:
        return self._in(WORKFLOW_TEMPLATE, self.workload_namespaces)

    def operator_objects(self) -> list[dict[str, Any]]:
        """The operator's ServiceAccount and its Role and RoleBinding in each workload namespace."""
        name = operator_component.NAME
        return [
            *self._in(SERVICE_ACCOUNT, [self.system_namespace], name),
            *self._in(ROLE, self.workload_namespaces, name),
            *self._in(ROLE_BINDING, self.workload_namespaces, name),
        ]

    def approval_policy(self) -> list[dict[str, Any]]:
        """The approver ClusterRole, the admission policy and its binding, in that order."""
        return [
            *self.manifests(CLUSTER_ROLE),
            *self.manifests(ADMISSION_POLICY),
            *self.manifests(ADMISSION_POLICY_BINDING),
        ]

    @property
    def approver_role(self) -> str:
        (role,) = self.manifests(CLUSTER_ROLE)
        return _name(role)

    def operator_environment(self) -> dict[str, str]:
        """The operator container's environment in the rendered Deployment."""
        (deployment,) = [m for m in self.manifests(DEPLOYMENT) if _name(m) == operator_component.NAME]
        (container,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "operator"]
        return {e["name"]: e["value"] for e in container["env"] if "value" in e}

    # -- creating it -----------------------------------------------------------------------

    def install(self, cluster: ControlPlane) -> None:
        """Create every object above (what exists already is left as it is), in ``pulumi up``'s
        order: the CRD and namespaces, what the namespaces hold, then the templates. Not the
        approval policy: :meth:`approval_policy`."""
        kube = cluster.kube()
        _create(kube, [self.crd])
        wait_for(partial(established, kube, _name(self.crd)), timeout=60, what="the AgentWorkload CRD Established")
        kube.invalidate()
        _create(kube, self.namespaces)
        _create(kube, [*self.namespace_objects(), *self.operator_objects()])
        _create(kube, self.workflow_templates())

    def operator_token(self, cluster: ControlPlane) -> str:
        return cluster.token(self.system_namespace, operator_component.NAME)

    def controller_config(self) -> dict[str, Any]:
        """What the chart puts in Argo's ConfigMap from the rendered release's values: the
        default artifact repository and the executor containers' security context and
        resources (argo-helm's workflow-controller-config-map.yaml)."""
        (release,) = self.manifests(HELM_RELEASE)
        values = release["values"]
        return {"artifactRepository": values["artifactRepository"], "executor": values["executor"]}


def _create(kube: Any, manifests: Iterable[Mapping[str, Any]]) -> None:
    for manifest in manifests:
        for attempt in range(20):
            try:
                kube.create(manifest)
                break
            except ApiException as exc:
                if exc.status == 409:  # there already: cluster-wide objects are shared by the session
                    break
                if exc.status == 404 and attempt < 19:  # discovery not caught up with a new CRD yet
                    time.sleep(0.5)
                    kube.invalidate()
                    continue
                raise
