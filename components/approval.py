"""ApprovalPolicy: only authorized people approve, and the API server is what checks it.

A human decides at the gate with the ``agentic.dev/approval*`` annotations
(``agentic_operator.api``). An annotation is whatever its writer put there, so the
operator cannot tell who wrote it; the API server can. A ValidatingAdmissionPolicy
(admissionregistration.k8s.io/v1, GA since Kubernetes 1.30) refuses, on AgentWorkloads:

- **creating** one that carries any approval annotation: the creator cannot pre-approve
  their own work;
- **changing** (adding, editing, removing) any of them unless the requester passes an
  authorizer check for the custom verb ``approve`` on ``agentworkloads`` in that
  namespace (and for that name: a Role may name single workloads). The platform ships
  the ``agentic-approver`` ClusterRole that grants it; bind it per namespace with a
  RoleBinding (or cluster-wide with a ClusterRoleBinding);
- an approval whose ``approval-by`` is not the requester's own username
  (``request.userInfo.username``), or whose value is not exactly ``approved`` or
  ``rejected``; the operator then records ``approval-by`` as the server checked it.

Changes to other annotations and labels, and status writes (the status subresource
cannot change metadata), are not this policy's business and pass. The policy fails
closed (``failurePolicy: Fail``): an expression error refuses the request.

Ref: https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/
Ref: https://kubernetes.io/docs/reference/using-api/cel/#kubernetes-authorizer-library
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from agentic_contract import pipeline
from agentic_operator import api
from components import podspec
from components.base import Component, raw

ADMISSION_API = "admissionregistration.k8s.io/v1"
# The annotations a human decides with; the policy guards each of them.
APPROVAL_ANNOTATIONS = (api.APPROVAL, api.APPROVAL_BY, api.APPROVAL_REASON)
APPROVAL_VALUES = (pipeline.APPROVED, pipeline.REJECTED)


@dataclass(frozen=True)
class ApprovalConfig:
    """Names of what the component creates, and the verb approvers are granted."""

    policy: str = "agentic-approvals"
    role: str = "agentic-approver"
    verb: str = "approve"


def _cel(value: Any) -> str:
    """A CEL literal for a string or a list of strings (JSON's quoting is CEL's)."""
    return json.dumps(value)


def approver_role(config: ApprovalConfig) -> dict[str, Any]:
    """The ClusterRole approvers are bound to: read workloads, annotate them, approve."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": config.role, "labels": podspec.labels("agentic-approvals")},
        "rules": [
            {"apiGroups": [api.GROUP], "resources": [api.PLURAL], "verbs": ["get", "list", "watch", "patch"]},
            # A verb no built-in request uses: only the admission policy asks for it.
            {"apiGroups": [api.GROUP], "resources": [api.PLURAL], "verbs": [config.verb]},
        ],
    }


def admission_policy(config: ApprovalConfig) -> dict[str, Any]:
    """The ValidatingAdmissionPolicy (pure): variables, then one validation per rule."""
    decision, actor = _cel(api.APPROVAL), _cel(api.APPROVAL_BY)
    may_approve = (
        f"authorizer.group({_cel(api.GROUP)}).resource({_cel(api.PLURAL)})"
        f".namespace(request.namespace).name(request.name).check({_cel(config.verb)}).allowed()"
    )
    annotations = "variables.annotations"
    return {
        "apiVersion": ADMISSION_API,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": config.policy, "labels": podspec.labels("agentic-approvals")},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [api.GROUP],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": [api.PLURAL],
                    }
                ]
            },
            "variables": [
                {"name": "keys", "expression": _cel(list(APPROVAL_ANNOTATIONS))},
                {
                    "name": "annotations",
                    "expression": "has(object.metadata.annotations) ? object.metadata.annotations : {}",
                },
                {
                    "name": "before",
                    "expression": "request.operation == 'UPDATE' && has(oldObject.metadata.annotations)"
                    " ? oldObject.metadata.annotations : {}",
                },
                {
                    "name": "changed",
                    "expression": f"variables.keys.exists(k, (k in {annotations}) != (k in variables.before)"
                    f" || (k in {annotations} && {annotations}[k] != variables.before[k]))",
                },
            ],
            "validations": [
                {
                    "expression": f"request.operation != 'CREATE' || !variables.keys.exists(k, k in {annotations})",
                    "message": f"{', '.join(APPROVAL_ANNOTATIONS)} cannot be set when an AgentWorkload is created: "
                    "its creator cannot pre-approve it; an approver annotates it afterwards",
                    "reason": "Forbidden",
                },
                {
                    "expression": f"!variables.changed || {may_approve}",
                    "messageExpression": f"'only approvers may change the approval annotations: ' + "
                    f"request.userInfo.username + ' may not {config.verb} agentworkloads in namespace ' + "
                    f"request.namespace + ' (bind the ClusterRole {config.role})'",
                    "reason": "Forbidden",
                },
                {
                    "expression": f"!variables.changed || !({decision} in {annotations})"
                    f" || {annotations}[{decision}] in {_cel(list(APPROVAL_VALUES))}",
                    "message": f"{api.APPROVAL} must be exactly {' or '.join(APPROVAL_VALUES)}",
                    "reason": "Invalid",
                },
                {
                    "expression": f"!variables.changed || !({decision} in {annotations})"
                    f" || ({actor} in {annotations} && {annotations}[{actor}] == request.userInfo.username)",
                    "messageExpression": f"'{api.APPROVAL_BY} must be your own username: ' + request.userInfo.username",
                    "reason": "Forbidden",
                },
            ],
        },
    }


def policy_binding(config: ApprovalConfig) -> dict[str, Any]:
    """Binds the policy in every namespace, denying what it refuses."""
    return {
        "apiVersion": ADMISSION_API,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": config.policy, "labels": podspec.labels("agentic-approvals")},
        "spec": {"policyName": config.policy, "validationActions": ["Deny"]},
    }


class ApprovalPolicy(Component):
    """The approver ClusterRole, the admission policy and its binding."""

    def __init__(self, name: str, config: ApprovalConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:approval:ApprovalPolicy", name, opts)
        role = approver_role(config)
        self.role = k8s.rbac.v1.ClusterRole(
            self.named("approver"), metadata=raw(role["metadata"]), rules=raw(role["rules"]), opts=self.child()
        )
        policy = admission_policy(config)
        self.policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            self.named("policy"), metadata=raw(policy["metadata"]), spec=raw(policy["spec"]), opts=self.child()
        )
        binding = policy_binding(config)
        self.binding = k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            self.named("binding"),
            metadata=raw(binding["metadata"]),
            spec=raw(binding["spec"]),
            opts=self.child(self.policy),
        )
        self.register_outputs(
            {
                "approver_role": self.role.metadata.apply(lambda m: m.name),
                "policy": self.policy.metadata.apply(lambda m: m.name),
                "binding": self.binding.metadata.apply(lambda m: m.name),
            }
        )
