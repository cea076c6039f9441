"""ArgoWorkflows: the official argo-workflows Helm chart, pinned, as a ``helm.v3.Release``.

Values, checked against charts/argo-workflows/values.yaml and its templates in
argoproj/argo-helm at chart 1.0.18 (app v4.0.6):

- ``crds.full: false``: the minimal CRDs shipped inside the chart. With ``full: true`` a
  hook Job downloads the full CRDs from GitHub, which an offline cluster cannot do.
  ``crds.keep: true`` keeps them (and every Workflow) when the release is removed.
- ``controller.workflowNamespaces``: the workload namespaces. In this chart the list only
  decides where the chart would put workflow RBAC (the controller itself keeps its
  ClusterRole and watches every namespace; only ``singleNamespace`` narrows it, to one).
  The workflow ServiceAccount and its Role are ours (``WorkloadNamespace``), so
  ``workflow.serviceAccount.create`` and ``workflow.rbac.create`` are off.
- Default artifact repository: MinIO with ``useStaticCredentials`` and the Secret every
  workload namespace holds (Argo reads artifact credentials in the Workflow's namespace).
- Argo Server on, ``authModes: [client]``: every request carries the caller's own
  Kubernetes bearer token; ``server`` mode (the server's own account) is never enabled.
- ClusterWorkflowTemplates off for controller and server (we use namespaced templates);
  both tolerate the missing access (``HasAccessToClusterWorkflowTemplates``).
- Restricted security contexts for the controller, server and the executor containers
  Argo adds to workflow pods; requests and limits everywhere.

A ``helm.v3.Release`` (not ``helm.v4.Chart``) so the release is one resource with its own
lifecycle (``helm`` can inspect it) and its inputs are visible to tests under mocks.

With ``argo.install: external`` (an Argo Workflows already in the cluster, watching the
workload namespaces) there is no chart and no ``ArgoWorkflows`` component: each
``WorkloadNamespace`` then holds the ``artifact-repositories`` ConfigMap
(:func:`artifact_repositories`) that points that Argo at our MinIO for its namespace.

Ref: https://github.com/argoproj/argo-helm/tree/main/charts/argo-workflows
Ref: https://argo-workflows.readthedocs.io/en/latest/argo-server-auth-mode/
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components import podspec
from components.base import Component
from components.config import ArgoConfig
from components.template import ArtifactStore, repository_key_format

CHART = "argo-workflows"
REPOSITORY = "https://argoproj.github.io/argo-helm"
RELEASE = "argo-workflows"  # the chart's fullname then is the release name
SERVER_SERVICE = f"{RELEASE}-server"
SERVER_PORT = 2746
# The ConfigMap Argo reads in a workflow's namespace for its default artifact repository.
ARTIFACT_REPOSITORIES = "artifact-repositories"
DEFAULT_REPOSITORY_KEY = "default-v1"


def _pod_security_context() -> dict[str, Any]:
    # The chart's images choose their own non-root users; we require non-root and seccomp.
    return {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def artifact_repository(store: ArtifactStore, namespace: str | None = None) -> dict[str, Any]:
    """MinIO as an Argo artifact repository (the ``s3`` block; pure): keys under
    ``namespace``'s prefix (None: each Workflow's own namespace).

    Ref: https://argo-workflows.readthedocs.io/en/latest/configure-artifact-repository/
    """
    return {
        "s3": {
            "endpoint": store.endpoint,
            "bucket": store.bucket,
            "insecure": store.insecure,
            "keyFormat": repository_key_format(namespace),
            "accessKeySecret": {"name": store.secret, "key": store.access_key},
            "secretKeySecret": {"name": store.secret, "key": store.secret_key},
        }
    }


def artifact_repositories(store: ArtifactStore, namespace: str) -> dict[str, Any]:
    """The ``artifact-repositories`` ConfigMap an Argo installed elsewhere reads in a
    workflow's namespace: MinIO as that namespace's default repository, with the
    credentials Secret there (that namespace's own MinIO user) and keys under its prefix
    (pure)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": ARTIFACT_REPOSITORIES,
            "annotations": {"workflows.argoproj.io/default-artifact-repository": DEFAULT_REPOSITORY_KEY},
        },
        "data": {
            DEFAULT_REPOSITORY_KEY: yaml.safe_dump({"archiveLogs": False, **artifact_repository(store, namespace)})
        },
    }


def executor() -> dict[str, Any]:
    """Argo's ``executor`` settings for its init and wait containers (pure): the chart
    renders them into the controller's config. Workload namespaces enforce Pod Security
    ``restricted``, so an Argo installed elsewhere (``argo.install: external``) needs the
    same in its ``workflow-controller-configmap`` or its pods there are refused.

    Ref: https://argo-workflows.readthedocs.io/en/latest/workflow-controller-configmap.yaml
    """
    return {
        "securityContext": podspec.container_security_context(),
        "resources": podspec.resources(("10m", "64Mi"), ("500m", "256Mi")),
    }


def chart_values(config: ArgoConfig) -> dict[str, Any]:
    """The chart values (pure: tested without Pulumi)."""
    store = config.artifacts
    return {
        "crds": {"install": True, "keep": True, "full": False},
        "images": {"pullPolicy": "IfNotPresent"},
        "singleNamespace": False,
        "workflow": {"serviceAccount": {"create": False}, "rbac": {"create": False}},
        "controller": {
            "workflowNamespaces": list(config.workload_namespaces),
            "clusterWorkflowTemplates": {"enabled": False},
            "podSecurityContext": _pod_security_context(),
            "securityContext": podspec.container_security_context(),
            "resources": podspec.resources(("100m", "128Mi"), ("1", "512Mi")),
        },
        "server": {
            "enabled": True,
            "authModes": ["client"],
            "clusterWorkflowTemplates": {"enabled": False, "enableEditing": False},
            "podSecurityContext": _pod_security_context(),
            "securityContext": podspec.container_security_context(),
            "resources": podspec.resources(("50m", "64Mi"), ("500m", "256Mi")),
        },
        "executor": executor(),
        "useStaticCredentials": True,
        "artifactRepository": {"archiveLogs": False, **artifact_repository(store)},
    }


class ArgoWorkflows(Component):
    """Argo's namespace and the pinned chart release."""

    def __init__(self, name: str, config: ArgoConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:argo:ArgoWorkflows", name, opts)
        self.namespace = self.namespace_child(config.namespace, component="argo-workflows", enforce="baseline")
        self.release = k8s.helm.v3.Release(
            self.named("release"),
            name=RELEASE,
            chart=CHART,
            version=config.chart_version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=REPOSITORY),
            namespace=config.namespace,
            values=chart_values(config),
            timeout=600,
            opts=self.child(self.namespace),
        )
        self.namespace_name = pulumi.Output.from_input(config.namespace)
        self.server_service = pulumi.Output.from_input(SERVER_SERVICE)
        self.register_outputs(
            {"namespace": self.namespace_name, "server_service": self.server_service, "release": self.release.name}
        )
