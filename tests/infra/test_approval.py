"""ApprovalPolicy: the approver role, the admission policy and its binding, as rendered.

What the policy *does* is proven against the real API server (tests/cluster/test_approvals.py);
these tests hold the rendered objects to what that proof relies on.
"""

from __future__ import annotations

from agentic_operator import api
from components import approval
from tests.infra.harness import Run

POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
CONFIG = approval.ApprovalConfig()


def test_the_stack_ships_the_approver_role_policy_and_binding_in_their_component(dev_stack: Run) -> None:
    for type_ in (POLICY, BINDING, ROLE):
        resource = dev_stack.one(type_)
        assert dev_stack.ancestors(resource)[:2] == [
            "agentic:approval:ApprovalPolicy",
            "agentic:platform:AgenticPlatform",
        ]
    assert dev_stack.one(POLICY).manifest == approval.admission_policy(CONFIG)
    assert dev_stack.one(BINDING).manifest == approval.policy_binding(CONFIG)


def test_the_approver_role_grants_the_custom_verb_and_what_annotating_takes(dev_stack: Run) -> None:
    rules = dev_stack.one(ROLE, "agentic-approver").manifest["rules"]
    assert rules == [
        {"apiGroups": ["agentic.dev"], "resources": ["agentworkloads"], "verbs": ["get", "list", "watch", "patch"]},
        {"apiGroups": ["agentic.dev"], "resources": ["agentworkloads"], "verbs": ["approve"]},
    ]


def test_the_binding_denies_in_every_namespace_and_waits_for_its_policy(dev_stack: Run) -> None:
    binding = dev_stack.one(BINDING)
    assert binding.manifest["spec"] == {"policyName": "agentic-approvals", "validationActions": ["Deny"]}
    assert dev_stack.one(POLICY).urn in binding.dependencies


def test_the_operator_starts_only_after_the_policy_is_in_place(dev_stack: Run) -> None:
    """Otherwise it could act on an approval the server never checked."""
    deployment = dev_stack.one("kubernetes:apps/v1:Deployment", "agentic-operator")
    assert {dev_stack.one(POLICY).urn, dev_stack.one(BINDING).urn} <= set(deployment.dependencies)


def test_the_policy_matches_creates_and_updates_of_agentworkloads_and_fails_closed() -> None:
    spec = approval.admission_policy(CONFIG)["spec"]
    assert spec["failurePolicy"] == "Fail"
    assert spec["matchConstraints"]["resourceRules"] == [
        {"apiGroups": ["agentic.dev"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"], "resources": ["agentworkloads"]}
    ]  # fmt: skip


def test_the_policy_guards_every_approval_annotation_the_operator_reads() -> None:
    variables = {v["name"]: v["expression"] for v in approval.admission_policy(CONFIG)["spec"]["variables"]}
    assert variables["keys"] == '["agentic.dev/approval", "agentic.dev/approval-by", "agentic.dev/approval-reason"]'
    assert set(approval.APPROVAL_ANNOTATIONS) == {api.APPROVAL, api.APPROVAL_BY, api.APPROVAL_REASON}


def test_one_validation_per_rule_each_with_a_reason() -> None:
    """Pre-approval, the authorizer check, the two values, approval-by = the requester."""
    validations = approval.admission_policy(CONFIG)["spec"]["validations"]
    expressions = [v["expression"] for v in validations]
    assert expressions[0].startswith("request.operation != 'CREATE'")
    assert (
        'authorizer.group("agentic.dev").resource("agentworkloads").namespace(request.namespace)'
        '.name(request.name).check("approve").allowed()'
    ) in expressions[1]
    assert '["approved", "rejected"]' in expressions[2]
    assert "== request.userInfo.username" in expressions[3]
    assert [v["reason"] for v in validations] == ["Forbidden", "Forbidden", "Invalid", "Forbidden"]
