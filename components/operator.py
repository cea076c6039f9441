"""Operator: the agentic operator's Deployment with its OPA sidecar, and its RBAC.

- One replica with the ``Recreate`` strategy: the operator has no leader election, so two
  pods would both reconcile every workload; Recreate removes the old pod first.
- RBAC: a Role and RoleBinding in each workload namespace, nothing cluster-wide. The
  operator lists and watches only the namespaces it is given (no CRD, namespace or API
  discovery requests).
- Bundled mode (``operator.image`` unset): a pinned Python image; an init container
  ``pip install``s ``operator/requirements.lock`` into an ``emptyDir`` and the main
  container runs the source mounted from a ConfigMap. Image mode: the configured image,
  same entry point (``python -m agentic_operator``). Content hashes of the source and of
  the policies are pod-template annotations, so a change to either rolls the pod.
- OPA sidecar: serves the REST API on loopback only (the operator is its one client);
  ``/health`` and ``/metrics`` on the diagnostic address for the probes.
  ``--ignore=.*`` skips the hidden ``..data`` directories a ConfigMap volume contains,
  which OPA would otherwise load a second time. ``--optimize-store-for-read-speed`` keeps
  data.json as Rego values rather than converting it again on every query (~0.3 ms of
  each admission query, BENCHMARKS.md); it costs memory only for data (~20 KB here) and
  time only for writes (none: nothing writes the sidecar's data).
- Restricted security context on every container; requests and limits everywhere.

Ref: https://www.openpolicyagent.org/docs/latest/deployments/
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from agentic_operator import api, argo_names, settings
from components import bundle, podspec
from components.base import Component, raw
from components.config import OperatorConfig

NAME = "agentic-operator"
HTTP_PORT = 8080
OPA_PORT = 8181
OPA_DIAGNOSTIC_PORT = 8282
SOURCE_DIR = "/opt/agentic/src"
DEPS_DIR = "/opt/agentic/deps"
POLICY_DIR = "/policies"
ANNOTATION_SOURCE = "agentic.dev/source-hash"
ANNOTATION_POLICIES = "agentic.dev/policies-hash"


def _rule(group: str, resources: list[str], verbs: list[str]) -> dict[str, Any]:
    return {"apiGroups": [group], "resources": resources, "verbs": verbs}


def operator_rules() -> list[dict[str, Any]]:
    """What the operator may do in each workload namespace, rule by rule."""
    return [
        # The operator's informers list and watch AgentWorkloads. No patch: it keeps no
        # state (annotations, finalizers) on the objects.
        _rule(api.GROUP, [api.PLURAL], ["get", "list", "watch"]),
        # status is a subresource: phase, conditions, decisions and artifacts are one
        # merge patch there per transition.
        _rule(api.GROUP, [f"{api.PLURAL}/status"], ["patch"]),
        # The Workflow's ownerReference sets blockOwnerDeletion: true, which the API server
        # allows only to who may update the owner's finalizers.
        _rule(api.GROUP, [f"{api.PLURAL}/finalizers"], ["update"]),
        # Create and follow Workflows. update: resume is a full-object PUT (the Workflow
        # CRD has no status subresource); patch: stop/terminate set spec.shutdown.
        _rule(argo_names.GROUP, [argo_names.WORKFLOWS], ["get", "list", "watch", "create", "update", "patch"]),
        # The template must exist before a Workflow names it.
        _rule(argo_names.GROUP, [argo_names.WORKFLOW_TEMPLATES], ["get"]),
        # Events on AgentWorkloads (the operator's transitions): each is a new Event,
        # never an update of an earlier one.
        _rule("", ["events"], ["create"]),
    ]


def environment(config: OperatorConfig) -> list[dict[str, str]]:
    """The operator's settings (``agentic_operator.settings.TABLE``), then the process's own."""
    operator = settings.environment(
        {
            "namespaces": config.workload_namespaces,
            "opa_url": f"http://127.0.0.1:{OPA_PORT}",
            "default_agent_image": config.default_agent_image,
            "default_bucket": config.default_bucket,
            "resync_seconds": config.resync_seconds,
            "http_port": HTTP_PORT,
            "log_format": "json",
        }
    )
    process = {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp"}
    return [{"name": k, "value": v} for k, v in {**operator, **process}.items()]


def _opa(config: OperatorConfig) -> dict[str, Any]:
    return {
        "name": "opa",
        "image": config.opa_image,
        "args": [
            "run",
            "--server",
            f"--addr=127.0.0.1:{OPA_PORT}",
            f"--diagnostic-addr=0.0.0.0:{OPA_DIAGNOSTIC_PORT}",
            "--ignore=.*",
            "--log-format=json",
            "--optimize-store-for-read-speed",
            POLICY_DIR,
        ],
        "ports": [{"name": "opa-diag", "containerPort": OPA_DIAGNOSTIC_PORT}],
        "livenessProbe": podspec.http_probe("/health", OPA_DIAGNOSTIC_PORT),
        # plugins: ready only once every configured plugin reports OK.
        "readinessProbe": podspec.http_probe("/health?plugins", OPA_DIAGNOSTIC_PORT),
        "resources": podspec.resources(("25m", "64Mi"), ("500m", "256Mi")),
        "securityContext": podspec.container_security_context(),
        "volumeMounts": [{"name": "policies", "mountPath": POLICY_DIR, "readOnly": True}],
    }


def pod_spec(config: OperatorConfig, source: bundle.Bundle | None, policies: bundle.Bundle) -> dict[str, Any]:
    """The pod: operator (+ pip init container in bundled mode) and the OPA sidecar (pure)."""
    scratch = {"name": "tmp", "mountPath": "/tmp"}
    operator: dict[str, Any] = {
        "name": "operator",
        "image": config.image or config.python_image,
        "command": ["python", "-m", "agentic_operator"],
        "env": environment(config),
        "ports": [{"name": "http", "containerPort": HTTP_PORT}],
        "livenessProbe": podspec.http_probe("/healthz", "http", period=20, initial_delay=10),
        "readinessProbe": podspec.http_probe("/readyz", "http"),
        "resources": podspec.resources(("50m", "128Mi"), ("500m", "512Mi")),
        "securityContext": podspec.container_security_context(),
        "volumeMounts": [scratch],
    }
    volumes: list[dict[str, Any]] = [
        podspec.scratch_volume("tmp", "64Mi"),
        {"name": "policies", "configMap": {"name": f"{NAME}-policies", "items": policies.items}},
    ]
    spec: dict[str, Any] = {
        "serviceAccountName": NAME,
        "securityContext": podspec.pod_security_context(),
        "containers": [operator, _opa(config)],
        "volumes": volumes,
    }
    if source is not None:  # bundled mode
        mounts = [
            {"name": "source", "mountPath": SOURCE_DIR, "readOnly": True},
            {"name": "deps", "mountPath": DEPS_DIR},
        ]
        operator["env"].append({"name": "PYTHONPATH", "value": f"{SOURCE_DIR}:{DEPS_DIR}"})
        operator["volumeMounts"] += mounts
        volumes += [
            {"name": "source", "configMap": {"name": f"{NAME}-source", "items": source.items}},
            {"name": "deps", "emptyDir": {"sizeLimit": "512Mi"}},
        ]
        spec["initContainers"] = [
            {
                "name": "install",
                "image": config.python_image,
                "command": ["python", "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check"],
                "args": [
                    "--no-input",
                    "--only-binary=:all:",
                    "--target",
                    DEPS_DIR,
                    "--requirement",
                    f"{SOURCE_DIR}/{bundle.REQUIREMENTS}",
                ],
                "env": [{"name": "HOME", "value": "/tmp"}],
                "resources": podspec.resources(("100m", "256Mi"), ("1", "1Gi")),
                "securityContext": podspec.container_security_context(),
                "volumeMounts": [*mounts, scratch],
            }
        ]
    return spec


def deployment_spec(config: OperatorConfig, source: bundle.Bundle | None, policies: bundle.Bundle) -> dict[str, Any]:
    """One replica, Recreate, hashes and Prometheus annotations on the pod (pure)."""
    annotations = {
        ANNOTATION_POLICIES: policies.hash,
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(HTTP_PORT),
        "prometheus.io/path": "/metrics",
    }
    if source is not None:
        annotations[ANNOTATION_SOURCE] = source.hash
    return {
        "replicas": config.replicas,
        "strategy": {"type": "Recreate"},
        "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
        "template": {
            "metadata": {"labels": podspec.labels(NAME), "annotations": annotations},
            "spec": pod_spec(config, source, policies),
        },
    }


class Operator(Component):
    """ServiceAccount, per-namespace RBAC, source and policy ConfigMaps, the Deployment."""

    def __init__(self, name: str, config: OperatorConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:operator:Operator", name, opts)
        labels = podspec.labels(NAME)

        def meta(name: str, namespace: str = config.namespace) -> Any:
            return raw({"name": name, "namespace": namespace, "labels": labels})

        self.service_account = k8s.core.v1.ServiceAccount(self.named("account"), metadata=meta(NAME), opts=self.child())
        self.roles = [
            self.bound_role(f"rbac-{ns}", meta(NAME, ns), operator_rules(), self.service_account, config.namespace)
            for ns in config.workload_namespaces
        ]
        policies = bundle.policies(config.policy_dir, config.policy_overrides)
        source = None if config.image else bundle.operator_source(config.operator_dir)
        config_maps = [
            k8s.core.v1.ConfigMap(
                self.named("policies"), metadata=meta(f"{NAME}-policies"), data=policies.data, opts=self.child()
            )
        ]
        if source is not None:
            config_maps.append(
                k8s.core.v1.ConfigMap(
                    self.named("source"), metadata=meta(f"{NAME}-source"), data=source.data, opts=self.child()
                )
            )
        self.deployment = k8s.apps.v1.Deployment(
            self.named("deployment"),
            metadata=meta(NAME),
            spec=raw(deployment_spec(config, source, policies)),
            opts=self.child(self.service_account, *config_maps, *self.roles),
        )
        self.register_outputs(
            {
                "deployment": self.deployment.metadata.apply(lambda m: m.name),
                "service_account": self.service_account.metadata.apply(lambda m: m.name),
                "mode": "image" if config.image else "bundled",
            }
        )
