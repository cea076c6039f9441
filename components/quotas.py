"""ResourceQuota and LimitRange for a workload namespace, as data: a pure builder.

A team's workloads share the cluster with everyone else's, and a workload may ask for
resources of its own (``spec.resources``, a ``podSpecPatch`` on its steps). So every
workload namespace gets:

- a **ResourceQuota** capping what its pods may hold at once (``quota.*`` in the stack
  config): the sum of CPU, memory and ephemeral-storage limits, and the number of pods;
- a **LimitRange** bounding each container (``limits.*``: a step asking for more is
  refused by the API server, and Argo fails the step with the server's message) and
  giving containers that name no resources (Argo's ``init`` and ``wait`` containers
  name no ephemeral storage) defaults, without which the quota would refuse their pod.

The LimitRanger admission plugin runs before ResourceQuota, so defaults are in place
when the quota counts a pod.

Ref: https://kubernetes.io/docs/concepts/policy/resource-quotas/
Ref: https://kubernetes.io/docs/concepts/policy/limit-range/
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components import podspec

NAME = "agentic-workloads"
RESOURCES = ("cpu", "memory", "ephemeral-storage")
# For containers that name nothing (Argo's init and wait containers name no ephemeral storage).
DEFAULT_REQUEST = {"cpu": "10m", "memory": "32Mi", "ephemeral-storage": "64Mi"}
DEFAULT_LIMIT = {"cpu": "500m", "memory": "256Mi", "ephemeral-storage": "1Gi"}


@dataclass(frozen=True)
class QuotaConfig:
    """A namespace's caps (``quota.*``) and the most one container may ask for (``limits.*``)."""

    cpu: str = "32"
    memory: str = "64Gi"
    ephemeral_storage: str = "100Gi"
    pods: int = 100
    max_cpu: str = "4"
    max_memory: str = "8Gi"
    max_ephemeral_storage: str = "10Gi"

    @property
    def hard(self) -> dict[str, str]:
        return {"cpu": self.cpu, "memory": self.memory, "ephemeral-storage": self.ephemeral_storage}

    @property
    def maximum(self) -> dict[str, str]:
        return {"cpu": self.max_cpu, "memory": self.max_memory, "ephemeral-storage": self.max_ephemeral_storage}


def _meta(namespace: str) -> dict[str, Any]:
    return {"name": NAME, "namespace": namespace, "labels": podspec.labels("agentic-workloads")}


def resource_quota(namespace: str, config: QuotaConfig) -> dict[str, Any]:
    """The namespace's caps on the limits its pods hold and on its number of pods."""
    hard = {f"limits.{resource}": value for resource, value in config.hard.items()}
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": _meta(namespace),
        "spec": {"hard": {**hard, "pods": str(config.pods)}},
    }


def limit_range(namespace: str, config: QuotaConfig) -> dict[str, Any]:
    """Per container: defaults for what it leaves out, and the most it may ask for."""
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": _meta(namespace),
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "default": dict(DEFAULT_LIMIT),
                    "defaultRequest": dict(DEFAULT_REQUEST),
                    "max": config.maximum,
                }
            ]
        },
    }
