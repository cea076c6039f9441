"""Only approvers approve, as the real API server enforces it (components/approval.py).

Two real identities, ServiceAccount tokens the server authenticates: a submitter who may
create and patch AgentWorkloads, and an approver bound to the ``agentic-approver``
ClusterRole the platform ships. The policy, its binding and the role are the very
manifests the Pulumi component renders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from agentic_operator import api
from components import approval
from tests.cluster import approvals
from tests.cluster.argo import established
from tests.cluster.controlplane import ControlPlane, wait_for
from tests.cluster.kube import Kube

NS = "approvals"
CONFIG = approval.ApprovalConfig()
SUBMITTER_RULES = [
    {"apiGroups": [api.GROUP], "resources": [api.PLURAL], "verbs": ["create", "get", "list", "patch", "update"]}
]


def user(name: str) -> str:
    return approvals.service_account_user(NS, name)


def workload(name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND,
        "metadata": {"name": name, "namespace": NS, "annotations": dict(annotations or {})},
        "spec": {"targetUrls": ["https://example.com/"], "objective": "Summarise the page"},
    }


def decision(value: str, by: str, reason: str = "looked at it") -> dict[str, Any]:
    annotations = {api.APPROVAL: value, api.APPROVAL_BY: by, api.APPROVAL_REASON: reason}
    return {"metadata": {"annotations": annotations}}


def refused(call: Callable[[], Any]) -> ApiException:
    with pytest.raises(ApiException) as caught:
        call()
    return caught.value


@pytest.fixture(scope="module")
def identities(cluster: ControlPlane) -> Iterator[dict[str, Kube]]:
    admin = cluster.kube()
    approvals.ensure(admin, api.crd())
    wait_for(lambda: established(admin, f"{api.PLURAL}.{api.GROUP}"), timeout=60, what="the AgentWorkload CRD")
    admin.namespace(NS)
    submitter_role = {"apiVersion": f"{approvals.RBAC}/v1", "kind": "Role", "rules": SUBMITTER_RULES}
    approvals.ensure(admin, {**submitter_role, "metadata": {"name": "submitter", "namespace": NS}})
    policy = [approval.approver_role(CONFIG), approval.admission_policy(CONFIG), approval.policy_binding(CONFIG)]
    with approvals.enforced(admin, policy, NS):
        yield {
            "submitter": approvals.bound(cluster, NS, "submitter", ("Role", "submitter"), [NS]).kube,
            "approver": approvals.bound(cluster, NS, "approver", ("ClusterRole", CONFIG.role), [NS]).kube,
            "admin": admin,
        }


def test_a_submitter_cannot_create_a_pre_approved_workload(identities: dict[str, Kube]) -> None:
    """The self-approval of issue 11: create with approval annotations naming someone else."""
    forged = workload("pre-approved", {api.APPROVAL: "approved", api.APPROVAL_BY: "security-team"})
    error = refused(lambda: identities["submitter"].create(forged))
    assert error.status == 403 and "cannot pre-approve" in str(error.body)
    honest = workload("pre-approved-own-name", {api.APPROVAL: "approved", api.APPROVAL_BY: user("submitter")})
    assert refused(lambda: identities["submitter"].create(honest)).status == 403


def test_not_even_an_approver_can_create_a_workload_pre_approved(identities: dict[str, Kube]) -> None:
    """Approval comes after creation, from whoever may approve (the creator too, if bound)."""
    obj = workload("approver-pre-approves", {api.APPROVAL: "approved", api.APPROVAL_BY: user("approver")})
    assert refused(lambda: identities["admin"].create(obj)).status == 403


def test_a_submitter_cannot_approve_reject_or_clear_an_approval(identities: dict[str, Kube]) -> None:
    submitter, approver = identities["submitter"], identities["approver"]
    submitter.create(workload("submitted"))
    for value in ("approved", "rejected"):
        error = refused(lambda v=value: submitter.patch(api.API_VERSION, api.KIND, "submitted", decision(v, user("submitter")), namespace=NS))  # type: ignore[misc]  # fmt: skip
        assert error.status == 403 and f"may not {CONFIG.verb} agentworkloads" in str(error.body)
    approver.patch(api.API_VERSION, api.KIND, "submitted", decision("approved", user("approver")), namespace=NS)
    cleared = {"metadata": {"annotations": {api.APPROVAL: None}}}
    assert refused(lambda: submitter.patch(api.API_VERSION, api.KIND, "submitted", cleared, namespace=NS)).status == 403
    reason = {"metadata": {"annotations": {api.APPROVAL_REASON: "edited by the submitter"}}}
    assert refused(lambda: submitter.patch(api.API_VERSION, api.KIND, "submitted", reason, namespace=NS)).status == 403


def test_a_submitter_may_still_change_other_annotations_and_labels(identities: dict[str, Kube]) -> None:
    submitter = identities["submitter"]
    submitter.create(workload("labelled"))
    patch = {"metadata": {"labels": {"team": "a"}, "annotations": {"note": "mine"}}}
    changed = submitter.patch(api.API_VERSION, api.KIND, "labelled", patch, namespace=NS)
    assert changed["metadata"]["annotations"]["note"] == "mine"


def test_an_approver_approves_under_their_own_name(identities: dict[str, Kube]) -> None:
    identities["submitter"].create(workload("to-approve"))
    approved = identities["approver"].patch(
        api.API_VERSION, api.KIND, "to-approve", decision("approved", user("approver")), namespace=NS
    )
    assert approved["metadata"]["annotations"][api.APPROVAL_BY] == user("approver")
    rejected = identities["approver"].patch(
        api.API_VERSION, api.KIND, "to-approve", decision("rejected", user("approver"), "changed my mind"), namespace=NS
    )
    assert rejected["metadata"]["annotations"][api.APPROVAL] == "rejected"


def test_an_approver_cannot_forge_who_approved(identities: dict[str, Kube]) -> None:
    """approval-by must be the requester's username, and must be there."""
    identities["submitter"].create(workload("forged-by"))
    approver = identities["approver"]
    for by in ("security-team", user("submitter")):
        error = refused(lambda b=by: approver.patch(api.API_VERSION, api.KIND, "forged-by", decision("approved", b), namespace=NS))  # type: ignore[misc]  # fmt: skip
        assert error.status == 403 and f"must be your own username: {user('approver')}" in str(error.body)
    anonymous = {"metadata": {"annotations": {api.APPROVAL: "approved"}}}
    assert (
        refused(lambda: approver.patch(api.API_VERSION, api.KIND, "forged-by", anonymous, namespace=NS)).status == 403
    )


def test_only_the_two_decisions_are_accepted(identities: dict[str, Kube]) -> None:
    """' APPROVED ' (which the operator once read as approved) is refused outright."""
    identities["submitter"].create(workload("odd-value"))
    for value in (" APPROVED ", "Approved", "yes"):
        error = refused(lambda v=value: identities["approver"].patch(api.API_VERSION, api.KIND, "odd-value", decision(v, user("approver")), namespace=NS))  # type: ignore[misc]  # fmt: skip
        assert error.status == 422 and "must be exactly approved or rejected" in str(error.body)


def test_a_status_write_cannot_carry_approval_annotations(identities: dict[str, Kube]) -> None:
    """The status subresource ignores metadata, so the policy need not match it."""
    admin = identities["admin"]
    identities["submitter"].create(workload("via-status"))
    patch = {**decision("approved", "security-team"), "status": {"phase": "Pending"}}
    written = admin.patch(api.API_VERSION, api.KIND, "via-status", patch, namespace=NS, subresource="status")
    assert api.APPROVAL not in (written["metadata"].get("annotations") or {})
    assert written["status"]["phase"] == "Pending"
