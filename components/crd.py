"""AgentWorkloadCrd: the AgentWorkload CustomResourceDefinition, from the operator's schema.

The manifest comes from ``agentic_operator.api.crd()``: the same schema the operator
validates with, so the API server and the operator cannot disagree about a workload.
``retain_on_delete`` in ``opts`` (the platform sets it from ``retain.crd``) carries to
the definition: ``pulumi destroy`` then leaves the CRD and every AgentWorkload.

Ref: https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.base import Component, raw


class AgentWorkloadCrd(Component):
    """The CRD; ``config`` is its manifest (``agentic_operator.api.crd()``)."""

    def __init__(self, name: str, config: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:crd:AgentWorkloadCrd", name, opts)
        self.definition = k8s.apiextensions.v1.CustomResourceDefinition(
            self.named("definition"),
            metadata=raw(config["metadata"]),
            spec=raw(config["spec"]),
            opts=self.child(),
        )
        self.crd_name = pulumi.Output.from_input(str(config["metadata"]["name"]))
        self.register_outputs({"name": self.crd_name})
