"""Every transition of the reconcile core, on plain dicts."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentic_contract import pipeline
from agentic_operator import api, argo
from agentic_operator import status as st
from agentic_operator.decision import ADMISSION, GATE, Decision, PolicyUnavailable
from agentic_operator.reconcile import (
    NEED_TEMPLATE,
    NEED_WORKFLOW,
    CreateWorkflow,
    Observations,
    Plan,
    ResumeGate,
    StopWorkflow,
    reconcile,
)
from agentic_operator.timestamps import format_time
from testkit import argo_sim, factories
from testkit.factories import workflow, workload

T0 = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)  # argo_sim.T0: the recorded Workflow was created then
NOW = T0 + timedelta(minutes=5)
SETTINGS = factories.SETTINGS
ALLOW = Decision(True, ("ok",), "opa:test")
DENY = Decision(False, ("confidence 0.42 < 0.95",), "opa:test")
DOWN = PolicyUnavailable("OPA unreachable at http://127.0.0.1:8181: connection refused")


def plan_for(wl: dict[str, Any], wf: dict[str, Any] | None = None, *, now: datetime = NOW, **observed: Any) -> Plan:
    return reconcile(wl, wf, now=now, settings=SETTINGS, observed=Observations(**observed))


def cond(plan: Plan, type_: str) -> tuple[str, str]:
    c = st.condition(plan.status, type_)
    assert c is not None, f"no {type_} condition"
    return c["status"], c["reason"]


def with_status(wl: dict[str, Any], plan: Plan) -> dict[str, Any]:
    """The workload after the runtime wrote the plan's status."""
    out = copy.deepcopy(wl)
    out["status"] = copy.deepcopy(plan.status)
    return out


def admitted(at: datetime = NOW, **spec: Any) -> dict[str, Any]:
    """Admitted and its Workflow created ``at`` (the operator's clock)."""
    wl = workload(**spec)
    return with_status(wl, plan_for(wl, now=at, decisions={ADMISSION: ALLOW}, template_exists=True))


def running_at_gate(wl: dict[str, Any] | None = None, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    wl = wl or admitted()
    wf = argo_sim.run_until_gate(workflow(wl), **kwargs)
    wf["metadata"]["uid"] = "wf-uid"
    return wl, wf


def awaiting() -> tuple[dict[str, Any], dict[str, Any]]:
    wl, wf = running_at_gate()
    return with_status(wl, plan_for(wl, wf, decisions={GATE: DENY})), wf


# --- validation and admission -------------------------------------------------------------


def test_invalid_spec_is_rejected_with_a_condition_naming_the_field() -> None:
    plan = plan_for(workload(targetUrls=["ftp://x"]))
    assert plan.status["phase"] == "Rejected" and not plan.actions and not plan.needs
    assert cond(plan, "Admitted") == ("False", "InvalidSpec")
    assert "spec.targetUrls[0]" in plan.status["message"]
    assert [(e.type, e.reason) for e in plan.events] == [("Warning", "Rejected")]


def test_a_new_workload_asks_the_admission_policy() -> None:
    plan = plan_for(workload(agentImage="reg.example/agent:1"))
    assert set(plan.needs) == {ADMISSION} and not plan.actions
    query = plan.needs[ADMISSION]
    assert query["settings"] == {
        "defaultAgentImage": SETTINGS.default_agent_image,
        "defaultBucket": SETTINGS.default_bucket,
        "namespace": "team-a",
    }
    assert query["workload"]["spec"]["agentImage"] == "reg.example/agent:1"
    assert query["workload"]["spec"]["autoApproveThreshold"] == 0.95  # defaults applied


def test_admission_denied_rejects_without_a_workflow() -> None:
    plan = plan_for(workload(), decisions={ADMISSION: Decision(False, ("spec.targetUrls[0]: private host",), "opa")})
    assert plan.status["phase"] == "Rejected" and not plan.actions
    assert cond(plan, "Admitted") == ("False", "PolicyDenied")
    assert plan.status["decisions"] == [
        {
            "stage": "admission",
            "allowed": False,
            "reasons": ["spec.targetUrls[0]: private host"],
            "source": "opa",
            "time": "2026-11-26T10:05:00Z",
        }
    ]
    assert "private host" in plan.status["message"]


def test_admission_policy_unavailable_fails_closed_and_retries() -> None:
    plan = plan_for(workload(), decisions={ADMISSION: DOWN})
    assert plan.status["phase"] == "Pending" and not plan.actions and plan.backoff
    assert cond(plan, "Admitted") == ("Unknown", "PolicyUnavailable")
    assert "connection refused" in st.condition(plan.status, "Admitted")["message"]  # type: ignore[index]
    assert "decisions" not in plan.status


def test_admitted_workload_checks_the_template_then_creates_the_workflow() -> None:
    wl = workload()
    first = plan_for(wl, decisions={ADMISSION: ALLOW})
    assert first.needs == {NEED_TEMPLATE: "visual-analysis-template"}
    plan = plan_for(wl, decisions={ADMISSION: ALLOW}, template_exists=True)
    assert plan.actions == (CreateWorkflow(workflow(wl, SETTINGS)),)
    assert plan.status["phase"] == "Pending"
    assert plan.status["argoWorkflow"] == {"name": "demo", "namespace": "team-a"}
    assert cond(plan, "Admitted") == ("True", "PolicyAllowed") and cond(plan, "WorkflowCreated") == ("True", "Created")


def test_missing_template_waits_and_retries() -> None:
    plan = plan_for(workload(), decisions={ADMISSION: ALLOW}, template_exists=False)
    assert not plan.actions and plan.requeue_after == 30.0 and plan.status["phase"] == "Pending"
    assert cond(plan, "WorkflowCreated") == ("False", "TemplateNotFound")
    assert "spec.workflowTemplateRef.name" in plan.status["message"]


def test_admission_is_asked_once() -> None:
    plan = plan_for(admitted())
    assert ADMISSION not in plan.needs


# --- following the Workflow ---------------------------------------------------------------


def test_created_workflow_missing_from_the_cache_is_read_fresh_then_declared_deleted() -> None:
    wl = admitted()
    assert plan_for(wl).needs == {NEED_WORKFLOW: True}
    plan = plan_for(wl, workflow_confirmed=True)
    assert plan.status["phase"] == "Failed" and "was deleted" in plan.status["message"]


def test_running_workflow_is_mirrored() -> None:
    wl = admitted()
    wf = workflow(wl)
    for _ in range(2):  # the scraper ran; the extractors run
        wf = argo_sim.advance(wf) or wf
    wf["metadata"]["uid"] = "wf-uid"
    plan = plan_for(wl, wf)
    s = plan.status
    assert (s["phase"], s["argoPhase"], s["suspended"], s["progress"]) == ("Running", "Running", False, "1/3")
    assert s["currentStep"] == "dom-extractor, screenshot-extractor"
    assert s["argoWorkflow"] == {"name": "demo", "namespace": "team-a", "uid": "wf-uid"}
    assert s["startedAt"] == argo_sim.T0
    assert s["workflowArtifacts"] == {"scraper/pages": "s3://agentic-artifacts/team-a/demo/scraper/pages.tgz"}
    assert not plan.actions


def test_argo_pending_is_pending() -> None:
    wl = admitted()
    wf = workflow(wl)
    wf["status"] = {"phase": "Pending", "message": "Workflow processing has been postponed"}
    plan = plan_for(wl, wf)
    assert plan.status["phase"] == "Pending" and "postponed" in plan.status["message"]


def test_workflow_succeeded() -> None:
    wl, wf = running_at_gate()
    wf = argo_sim.run_until_gate(argo.resume(wf, outputs={"decision": "approved", "decided-by": "p", "reason": "r"}))
    plan = plan_for(wl, wf)
    assert plan.status["phase"] == "Succeeded" and plan.status["argoPhase"] == "Succeeded"
    assert cond(plan, "Ready") == ("True", "Succeeded")
    assert plan.status["finishedAt"] == wf["status"]["finishedAt"]  # Argo's own finish time
    assert "synthesis/report" in plan.status["workflowArtifacts"]


@pytest.mark.parametrize("argo_phase", ["Failed", "Error"])
def test_workflow_failed_or_error_is_failed(argo_phase: str) -> None:
    wl = admitted()
    wf = argo_sim.run_until_gate(workflow(wl), fail_step=pipeline.STEP_SCRAPER)
    wf["status"]["phase"] = argo_phase
    plan = plan_for(wl, wf)
    assert plan.status["phase"] == "Failed" and plan.status["argoPhase"] == argo_phase
    assert cond(plan, "Ready") == ("False", "Failed")
    # Argo's Workflow carries no message when a step failed: the failed step's says why
    assert plan.status["message"] == (
        f"Workflow {argo_phase}: scraper: main: Error (exit code 1); retryStrategy.expression evaluated to false"
    )


def test_someone_elses_workflow_is_a_clear_failure() -> None:
    wl = admitted()
    wf = workflow(workload(uid="other-uid", name="someone-else", jobId="demo"))
    assert plan_for(wl, wf).needs == {NEED_WORKFLOW: True}  # the cache may be stale: read it fresh
    plan = plan_for(wl, wf, workflow_confirmed=True)
    assert plan.status["phase"] == "Failed" and cond(plan, "WorkflowCreated") == ("False", "NameConflict")
    assert "choose another spec.jobId" in plan.status["message"]


def test_previous_incarnations_workflow_is_waited_for() -> None:
    wl = admitted()
    old = workflow(workload(uid="old-uid"))
    assert plan_for(wl, old).needs == {NEED_WORKFLOW: True}
    plan = plan_for(wl, old, workflow_confirmed=True)
    assert plan.status["phase"] == "Pending" and plan.requeue_after and not plan.actions


# --- the gate -----------------------------------------------------------------------------


def test_gate_reached_asks_the_gate_policy_with_step_outputs() -> None:
    wl, wf = running_at_gate(reports={"dom-extractor": {"confidence": "0.42", "elements": "9"}})
    plan = plan_for(wl, wf)
    query = plan.needs[GATE]
    assert query["threshold"] == 0.95
    assert query["outputs"]["dom-extractor"] == {"confidence": "0.42", "elements": "9"}
    assert query["outputs"]["scraper"] == {"pages-fetched": "1", "pages-failed": "0"}
    assert query["progress"] == {"progress": "3/4", "total": 4, "succeeded": 3, "failed": 0}
    assert query["settings"]["namespace"] == "team-a" and query["workload"]["metadata"]["name"] == "demo"
    assert plan.status["suspended"] is True and plan.status["currentStep"] == "approval-gate"


def test_gate_allowed_resumes_with_the_decision_in_supplied_outputs() -> None:
    wl, wf = running_at_gate()
    plan = plan_for(wl, wf, decisions={GATE: ALLOW})
    assert plan.actions == (
        ResumeGate(
            "team-a", "demo", {"decision": "approved", "decided-by": "opa:test", "reason": "ok"}, "approved by opa:test"
        ),
    )
    assert cond(plan, "Approved") == ("True", "PolicyApproved")
    assert plan.status["phase"] == "Running"
    assert [d["stage"] for d in plan.status["decisions"]] == ["admission", "gate"]
    assert plan.gate_wait == 0.0  # decided when first seen
    assert plan.status["gateReachedAt"] == "2026-11-26T10:05:00Z"


def test_gate_denied_waits_for_a_human_until_the_approval_timeout() -> None:
    wl, wf = running_at_gate()
    plan = plan_for(wl, wf, decisions={GATE: DENY})
    assert not plan.actions and plan.status["phase"] == "AwaitingApproval"
    assert cond(plan, "Approved") == ("Unknown", "AwaitingHuman")
    assert "confidence 0.42 < 0.95" in plan.status["message"]
    assert f"annotate aw demo {api.APPROVAL}=approved" in plan.status["message"]
    assert plan.requeue_after == 3600  # approvalSeconds from when the operator saw the gate


def test_awaiting_approval_does_not_ask_the_policy_again() -> None:
    wl, wf = awaiting()
    plan = plan_for(wl, wf)
    assert not plan.needs and not plan.actions and plan.status == wl["status"] and not plan.events


def test_human_approval_resumes_and_records_who() -> None:
    wl, wf = awaiting()
    wl["metadata"]["annotations"] = {
        api.APPROVAL: "approved",
        api.APPROVAL_BY: "alice",
        api.APPROVAL_REASON: "checked by hand",
    }
    plan = plan_for(wl, wf)
    assert plan.actions == (
        ResumeGate(
            "team-a",
            "demo",
            {"decision": "approved", "decided-by": "annotation:alice", "reason": "checked by hand"},
            "approved by annotation:alice",
        ),
    )
    assert cond(plan, "Approved") == ("True", "HumanApproved")
    assert plan.status["decisions"][-1]["source"] == "annotation:alice"


def test_human_rejection_stops_the_workflow() -> None:
    wl, wf = awaiting()
    wl["metadata"]["annotations"] = {api.APPROVAL: "rejected", api.APPROVAL_BY: "bob"}
    plan = plan_for(wl, wf)
    assert plan.actions == (StopWorkflow("team-a", "demo"),)
    assert plan.status["phase"] == "Rejected" and cond(plan, "Approved") == ("False", "HumanRejected")
    assert plan.status["finishedAt"] == "2026-11-26T10:05:00Z"


def test_approval_timeout_rejects_and_stops() -> None:
    wl, wf = awaiting()
    assert plan_for(wl, wf, now=NOW + timedelta(seconds=3599)).status["phase"] == "AwaitingApproval"
    plan = plan_for(wl, wf, now=NOW + timedelta(seconds=3600))
    assert plan.actions == (StopWorkflow("team-a", "demo"),)
    assert plan.status["phase"] == "Rejected" and cond(plan, "Approved") == ("False", "ApprovalTimeout")
    assert plan.status["decisions"][-1]["stage"] == "timeout"


def test_gate_policy_unavailable_awaits_with_backoff_and_times_out() -> None:
    wl, wf = running_at_gate()
    plan = plan_for(wl, wf, decisions={GATE: DOWN})
    assert plan.status["phase"] == "AwaitingApproval" and plan.backoff and not plan.actions
    assert cond(plan, "Approved") == ("Unknown", "PolicyUnavailable")
    late = plan_for(with_status(wl, plan), wf, now=NOW + timedelta(hours=1), decisions={GATE: DOWN})
    assert late.status["phase"] == "Rejected" and late.actions == (StopWorkflow("team-a", "demo"),)


def test_policy_approval_past_the_timeout_still_approves() -> None:
    """The timeout bounds the wait for a human, not a policy that answers yes."""
    wl, wf = running_at_gate()
    wl = with_status(wl, plan_for(wl, wf, decisions={GATE: DOWN}))  # gate seen at NOW, policy down
    plan = plan_for(wl, wf, now=NOW + timedelta(hours=2), decisions={GATE: ALLOW})
    assert isinstance(plan.actions[0], ResumeGate) and plan.gate_wait == 7200.0


def test_a_recorded_approval_is_carried_out_again_after_a_crash() -> None:
    """Approved and recorded, but the gate still runs: resume again (idempotent), record nothing new."""
    wl, wf = running_at_gate()
    wl = with_status(wl, plan_for(wl, wf, decisions={GATE: ALLOW}))
    plan = plan_for(wl, wf)
    assert isinstance(plan.actions[0], ResumeGate) and not plan.recorded and not plan.needs


def test_human_approval_given_ahead_applies_at_the_gate_after_the_policy_is_heard() -> None:
    """The gate policy is still asked (its view goes on record); a human's yes then stands."""
    wl, wf = running_at_gate()
    wl["metadata"]["annotations"] = {api.APPROVAL: "approved", api.APPROVAL_BY: "alice"}
    assert set(plan_for(wl, wf).needs) == {GATE}
    plan = plan_for(wl, wf, decisions={GATE: DENY})
    assert isinstance(plan.actions[0], ResumeGate) and plan.actions[0].outputs["decided-by"] == "annotation:alice"
    assert [d["stage"] for d in plan.status["decisions"]] == ["admission", "gate", "human"]
    unavailable = plan_for(wl, wf, decisions={GATE: DOWN})
    assert isinstance(unavailable.actions[0], ResumeGate)  # a human needs no policy to say yes


def test_the_workflow_deadline_caps_the_approval_wait() -> None:
    """Argo fails a waiting gate at activeDeadlineSeconds; the operator rejects first,
    counting from when it created the Workflow (Argo starts it no earlier)."""
    created = NOW - timedelta(seconds=200)  # the gate was reached 200 s after the Workflow was created
    wl = admitted(at=created, timeouts={"executionSeconds": 600, "approvalSeconds": 500})
    wl, wf = running_at_gate(wl)
    denied = plan_for(wl, wf, decisions={GATE: DENY})
    assert denied.requeue_after == 600 - 30 - 200  # the deadline - margin, not the gate's 500 s
    wl = with_status(wl, denied)
    assert plan_for(wl, wf, now=created + timedelta(seconds=569)).status["phase"] == "AwaitingApproval"
    plan = plan_for(wl, wf, now=created + timedelta(seconds=570))
    assert plan.status["phase"] == "Rejected" and plan.actions == (StopWorkflow("team-a", "demo"),)
    assert "timeouts.executionSeconds" in plan.status["message"]


@pytest.mark.parametrize("skew", [-45, 45, None])
def test_the_approval_deadline_runs_on_the_operators_clock_alone(skew: int | None) -> None:
    """Argo's controller clock 45 s off (either way), or a gate node with no startedAt:
    approvalSeconds 30 neither rejects on first sight nor waits forever; a restarted
    operator reads the time it first saw the gate from the status."""
    wl = admitted(timeouts={"executionSeconds": 600, "approvalSeconds": 30})
    wl, wf = running_at_gate(wl)
    gate = next(n for n in argo.nodes_of(wf).values() if n["displayName"] == pipeline.STEP_GATE)
    if skew is None:
        del gate["startedAt"]
    else:
        gate["startedAt"] = format_time(NOW + timedelta(seconds=skew))
    first = plan_for(wl, wf, decisions={GATE: DENY})
    assert first.status["phase"] == "AwaitingApproval" and first.requeue_after == 30
    wl = with_status(wl, first)
    assert plan_for(wl, wf, now=NOW + timedelta(seconds=29)).status["phase"] == "AwaitingApproval"
    late = plan_for(wl, wf, now=NOW + timedelta(seconds=30))
    assert late.status["phase"] == "Rejected" and cond(late, "Approved") == ("False", "ApprovalTimeout")


def test_a_resume_whose_status_write_was_lost_is_recorded_from_the_gate() -> None:
    """The resume landed, the status write did not: Argo's gate outputs say who decided."""
    wl, wf = running_at_gate()
    resumed = argo.resume(wf, outputs={"decision": "approved", "decided-by": "annotation:carol", "reason": "fine"})
    plan = plan_for(wl, resumed)
    assert plan.status["decisions"][-1] | {"time": ""} == {
        "stage": "human", "allowed": True, "reasons": ["fine"], "source": "annotation:carol", "time": ""
    }  # fmt: skip
    assert cond(plan, "Approved") == ("True", "Approved") and not plan.actions


def test_a_stopped_workflow_without_a_recorded_rejection_is_rejected() -> None:
    """A stop whose status write was lost, or `argo stop` by hand: Rejected, not Failed."""
    wl, wf = awaiting()
    wf["spec"]["shutdown"] = "Stop"
    stopped = argo_sim.advance(wf)
    assert stopped is not None and stopped["status"]["phase"] == "Failed"
    plan = plan_for(wl, stopped)
    assert plan.status["phase"] == "Rejected" and cond(plan, "Approved") == ("False", "Stopped")


def test_a_bad_approval_value_is_reported_not_acted_on() -> None:
    wl, wf = awaiting()
    wl["metadata"]["annotations"] = {api.APPROVAL: "yes please"}
    plan = plan_for(wl, wf)
    assert not plan.actions and plan.status["phase"] == "AwaitingApproval"
    assert ("Warning", "InvalidApproval") in [(e.type, e.reason) for e in plan.events]
    assert "'yes please' is not approved or rejected" in st.condition(plan.status, "Approved")["message"]  # type: ignore[index]
    again = plan_for(with_status(wl, plan), wf)
    assert not again.events and again.status == plan.status  # reported once, no churn


@pytest.mark.parametrize("value", [" APPROVED ", "Approved", "Rejected "])
def test_an_approval_is_read_exactly_as_the_admission_policy_admits_it(value: str) -> None:
    """Issue 11: " APPROVED " once resumed the gate; the API server refuses it, so must we."""
    wl, wf = awaiting()
    wl["metadata"]["annotations"] = {api.APPROVAL: value, api.APPROVAL_BY: "alice"}
    plan = plan_for(wl, wf)
    assert not plan.actions and plan.status["phase"] == "AwaitingApproval"
    assert cond(plan, "Approved") == ("Unknown", "InvalidApproval")


def test_an_approval_that_names_no_approver_is_not_acted_on() -> None:
    """Issue 11: it once resumed as ``annotation:unknown``; who approved is what the server checked."""
    wl, wf = awaiting()
    wl["metadata"]["annotations"] = {api.APPROVAL: "approved"}
    plan = plan_for(wl, wf)
    assert not plan.actions and plan.status["phase"] == "AwaitingApproval"
    assert f"{api.APPROVAL_BY} is missing" in st.condition(plan.status, "Approved")["message"]  # type: ignore[index]
    assert not [d for d in plan.status.get("decisions", []) if d["stage"] == "human"]


def test_the_hint_says_to_sign_with_your_username() -> None:
    wl, wf = running_at_gate()
    plan = plan_for(wl, wf, decisions={GATE: DENY})
    assert f"{api.APPROVAL_BY}=<your username>" in plan.status["message"]


def test_after_resume_the_workflow_runs_on() -> None:
    wl, wf = running_at_gate()
    wl = with_status(wl, plan_for(wl, wf, decisions={GATE: ALLOW}))
    resumed = argo_sim.advance(argo.resume(wf, outputs={"decision": "approved", "decided-by": "p", "reason": "r"}))
    assert resumed is not None
    plan = plan_for(wl, resumed)
    assert not plan.actions and plan.status["phase"] == "Running" and plan.status["currentStep"] == "synthesis"


# --- rejected workloads and their Workflows -----------------------------------------------


def test_rejected_workload_keeps_stopping_until_argo_shuts_down() -> None:
    wl, wf = awaiting()
    wl["metadata"]["annotations"] = {api.APPROVAL: "rejected", api.APPROVAL_BY: "bob"}
    wl = with_status(wl, plan_for(wl, wf))
    assert plan_for(wl, wf).actions == (StopWorkflow("team-a", "demo"),)  # the stop did not land yet
    wf["spec"]["shutdown"] = "Stop"
    assert plan_for(wl, wf).actions == ()
    stopped = argo_sim.advance(wf)
    assert stopped is not None
    plan = plan_for(wl, stopped)
    assert plan.status["phase"] == "Rejected" and plan.status["argoPhase"] == "Failed" and not plan.actions


# --- no churn -----------------------------------------------------------------------------


def test_reconciling_an_unchanged_world_changes_nothing() -> None:
    """Status timestamps only move on transitions: the second pass writes nothing."""
    cases: list[tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any]]] = []
    wl = workload()
    cases.append((wl, None, {"decisions": {ADMISSION: DOWN}}))
    cases.append((wl, None, {"decisions": {ADMISSION: ALLOW}, "template_exists": False}))
    gate_wl, gate_wf = running_at_gate()
    cases.append((gate_wl, gate_wf, {"decisions": {GATE: DENY}}))
    for wl, wf, observed in cases:
        first = plan_for(wl, wf, **observed)
        later = reconcile(
            with_status(wl, first),
            wf,
            now=NOW + timedelta(minutes=1),
            settings=SETTINGS,
            observed=Observations(**observed),
        )
        assert later.status == first.status and not later.events


def test_decisions_are_capped() -> None:
    status: dict[str, Any] = {}
    for _ in range(30):
        st.record(status, "gate", DENY, now=NOW)
    assert len(status["decisions"]) == 20


def test_status_merge_patch_writes_only_differences() -> None:
    old = {"phase": "Running", "currentStep": "scraper", "conditions": [{"type": "A"}], "argoWorkflow": {"name": "x"}}
    new = {"phase": "Running", "conditions": [{"type": "A"}, {"type": "B"}], "argoWorkflow": {"name": "x", "uid": "u"}}
    assert st.merge_patch(old, new) == {
        "currentStep": None,
        "conditions": [{"type": "A"}, {"type": "B"}],
        "argoWorkflow": {"uid": "u"},
    }
    assert st.merge_patch(new, new) == {}
