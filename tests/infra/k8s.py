"""Reading recorded Kubernetes manifests: pod specs and their containers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tests.infra.harness import Registered, Run

WORKLOAD_TYPES = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job")
WORKFLOW_TEMPLATE = "kubernetes:argoproj.io/v1alpha1:WorkflowTemplate"


def pod_spec(resource: Registered) -> dict[str, Any]:
    spec: dict[str, Any] = resource.manifest["spec"]["template"]["spec"]
    return spec


def containers(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def all_pods(run: Run) -> Iterator[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """(where, pod-level securityContext, containers) for every pod the stack defines."""
    for resource in run.resources:
        if resource.type in WORKLOAD_TYPES:
            spec = pod_spec(resource)
            yield resource.name, spec.get("securityContext", {}), containers(spec)
        elif resource.type == WORKFLOW_TEMPLATE:
            spec = resource.manifest["spec"]
            steps = [t["container"] for t in spec["templates"] if "container" in t]
            yield resource.name, spec.get("securityContext", {}), steps
