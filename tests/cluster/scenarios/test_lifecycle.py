"""An AgentWorkload's lifecycle through the real API server, RBAC and Argo's controller.

The operator process runs with its ServiceAccount's token (the rendered Role only), the
Workflow is Argo's own work from the real ``visual-analysis-template``, and what the
operator reports is checked against what Argo's controller wrote.
"""

from __future__ import annotations

import time

from agentic_contract import pipeline
from agentic_operator import api
from tests.cluster.controlplane import wait_for
from tests.cluster.scenarios import recorder
from tests.cluster.scenarios.workloads import LOW_CONFIDENCE, Workloads, condition

# Keys under the workload's namespace: two teams' jobs of one name never share keys.
ARTIFACTS = {
    "scraper/pages": "s3://agentic-artifacts/{namespace}/{job}/scraper/pages.tgz",
    "screenshot-extractor/images": "s3://agentic-artifacts/{namespace}/{job}/screenshot-extractor/images.tgz",
    "dom-extractor/dom": "s3://agentic-artifacts/{namespace}/{job}/dom-extractor/dom.tgz",
    "synthesis/report": "s3://agentic-artifacts/{namespace}/{job}/synthesis/report.tgz",
}


def test_auto_approved_to_succeeded_with_the_artifact_map(shared: Workloads) -> None:
    """Admitted, created, followed step by step, approved by the gate policy, resumed, Succeeded."""
    uid = shared.submit("auto")["metadata"]["uid"]
    st = shared.wait_condition("auto", "WorkflowCreated", "True")
    assert condition(st, "Admitted")["reason"] == "PolicyAllowed" and st["argoWorkflow"]["name"] == "auto"
    workflow = shared.workflow("auto")
    assert workflow is not None and workflow["metadata"]["ownerReferences"][0]["uid"] == uid
    shared.executor.pod("auto", pipeline.STEP_SCRAPER)
    st = shared.wait_status("auto", lambda s: s.get("currentStep") == pipeline.STEP_SCRAPER, what="the scraper running")
    assert (st["phase"], st["argoPhase"], st["suspended"]) == ("Running", "Running", False)

    shared.to_gate("auto")
    st = shared.wait_condition("auto", "Approved", "True")
    assert condition(st, "Approved")["reason"] == "PolicyApproved"
    assert [d["stage"] for d in st["decisions"]] == ["admission", "gate"]
    outputs = shared.gate_outputs("auto")
    assert outputs["decision"] == pipeline.APPROVED and outputs["decided-by"] == st["decisions"][-1]["source"]

    shared.run("auto", pipeline.STEP_SYNTHESIS)
    st = shared.wait_phase("auto", "Succeeded")
    assert (st["argoPhase"], st["progress"], condition(st, "Ready")["status"]) == ("Succeeded", "5/5", "True")
    assert st["workflowArtifacts"] == {
        k: v.format(namespace=shared.namespace, job="auto") for k, v in ARTIFACTS.items()
    }
    assert st["finishedAt"] == shared.workflow("auto")["status"]["finishedAt"]  # type: ignore[index]
    assert {"Pending", "Running", "Succeeded"} <= set(shared.events("auto"))


def test_gate_denied_then_approved_by_a_human(shared: Workloads) -> None:
    """Low confidence: the gate policy defers, the workload waits at Argo's suspended gate;
    an approver's annotation (the admission policy checked its name) resumes it with that
    name in the gate's outputs. What Argo wrote
    at each stage is checked against (or recorded as) testkit/argo_fixtures."""
    test = "test_gate_denied_then_approved_by_a_human"
    shared.submit("human-yes")
    shared.executor.pod("human-yes", pipeline.STEP_SCRAPER)
    shared.wait_node("human-yes", pipeline.STEP_SCRAPER, "Running", pod=True)
    recorder.stage("scraper-running", shared.workflow("human-yes"), test=test)
    shared.run("human-yes", pipeline.STEP_SCRAPER)
    for step in (pipeline.STEP_SCREENSHOTS, pipeline.STEP_DOM):
        shared.executor.pod("human-yes", step)
        shared.wait_node("human-yes", step, "Running", pod=True)
    recorder.stage("extractors-running", shared.workflow("human-yes"), test=test)
    shared.run("human-yes", pipeline.STEP_SCREENSHOTS)
    shared.run("human-yes", pipeline.STEP_DOM, LOW_CONFIDENCE)
    st = shared.wait_phase("human-yes", "AwaitingApproval")
    assert condition(st, "Approved")["reason"] == "AwaitingHuman" and st["suspended"] is True
    assert "below the auto-approve threshold" in condition(st, "Approved")["message"]
    assert shared.node("human-yes", pipeline.STEP_GATE)["phase"] == "Running"  # type: ignore[index]
    recorder.stage("gate", shared.workflow("human-yes"), test=test)

    shared.decide("human-yes")
    st = shared.wait_condition("human-yes", "Approved", "True")
    assert condition(st, "Approved")["reason"] == "HumanApproved"
    assert shared.gate_outputs("human-yes") == {
        "decision": "approved",
        "decided-by": api.human_source(shared.approver.username),
        "reason": "approved in a test",
    }
    shared.executor.pod("human-yes", pipeline.STEP_SYNTHESIS)
    shared.wait_node("human-yes", pipeline.STEP_SYNTHESIS, "Running", pod=True)
    recorder.stage("resumed", shared.workflow("human-yes"), test=test)
    shared.run("human-yes", pipeline.STEP_SYNTHESIS)
    st = shared.wait_phase("human-yes", "Succeeded")
    assert [d["stage"] for d in st["decisions"]] == ["admission", "gate", "human"]
    recorder.stage("succeeded", shared.workflow("human-yes"), test=test)


def test_rejected_by_a_human_argo_stops_and_synthesis_never_runs(shared: Workloads) -> None:
    shared.submit("human-no")
    shared.to_gate("human-no", LOW_CONFIDENCE)
    shared.wait_phase("human-no", "AwaitingApproval")
    shared.decide("human-no", pipeline.REJECTED)
    st = shared.wait_phase("human-no", "Rejected")
    assert condition(st, "Approved")["reason"] == "HumanRejected"
    workflow = shared.wait_workflow(
        "human-no", lambda w: (w.get("status") or {}).get("phase") == "Failed", what="Argo to stop the Workflow"
    )
    assert workflow["spec"]["shutdown"] == "Stop"
    synthesis = shared.node("human-no", pipeline.STEP_SYNTHESIS)
    assert synthesis is None or synthesis["type"] != "Pod", synthesis
    assert not [p for p in shared.pods("human-no") if p.endswith(pipeline.STEP_SYNTHESIS) or "-synthesis-" in p]
    st = shared.wait_status("human-no", lambda s: s.get("argoPhase") == "Failed", what="Argo's Failed mirrored")
    assert st["phase"] == "Rejected"  # a stop we asked for is not a failure
    recorder.stage("stopped", workflow, test="test_rejected_by_a_human_argo_stops_and_synthesis_never_runs")


def test_no_decision_in_time_rejects_and_stops(shared: Workloads) -> None:
    """approvalSeconds (30, the schema's minimum) pass at the gate without a decision."""
    shared.submit("too-slow", timeouts={"executionSeconds": 600, "approvalSeconds": 30})
    shared.to_gate("too-slow", LOW_CONFIDENCE)
    shared.wait_phase("too-slow", "AwaitingApproval")
    reached = time.monotonic()
    st = shared.wait_phase("too-slow", "Rejected", timeout=120)
    assert time.monotonic() - reached > 25  # not on first sight (clock skew), about 30 s later
    assert condition(st, "Approved")["reason"] == "ApprovalTimeout" and st["decisions"][-1]["stage"] == "timeout"
    shared.wait_workflow(
        "too-slow", lambda w: (w.get("status") or {}).get("phase") == "Failed", what="Argo to stop the Workflow"
    )


def test_a_failing_agent_step_fails_the_workload(shared: Workloads) -> None:
    shared.submit("breaks")
    shared.run("breaks", pipeline.STEP_SCRAPER, exit_code=1)
    st = shared.wait_phase("breaks", "Failed")
    assert st["argoPhase"] == "Failed"
    # Argo's Workflow says nothing: the step's last attempt says why, its Retry node why no more
    assert (
        st["message"]
        == "Workflow Failed: scraper: main: Error (exit code 1); retryStrategy.expression evaluated to false"
    )
    node = shared.pod_node("breaks", pipeline.STEP_SCRAPER)
    assert node is not None and node["phase"] == "Failed" and "exit code 1" in node["message"]
    for step in (pipeline.STEP_SCREENSHOTS, pipeline.STEP_DOM, pipeline.STEP_GATE, pipeline.STEP_SYNTHESIS):
        after = shared.node("breaks", step)  # Argo's record of a task whose dependency failed
        assert after is not None and (after["type"], after["phase"]) == ("Skipped", "Omitted"), after
    assert len(shared.pods("breaks")) == 1  # the scraper's: nothing after it ran
    recorder.stage("failed", shared.workflow("breaks"), test="test_a_failing_agent_step_fails_the_workload")


def test_admission_denied_makes_no_workflow(shared: Workloads) -> None:
    shared.submit("metadata-grab", targetUrls=["http://169.254.169.254/latest/meta-data/"])
    st = shared.wait_phase("metadata-grab", "Rejected")
    assert condition(st, "Admitted")["reason"] == "PolicyDenied" and "169.254.169.254" in st["message"]
    assert "argoWorkflow" not in st and shared.workflow("metadata-grab") is None


def test_deleting_the_workload_lets_the_garbage_collector_delete_its_workflow(shared: Workloads) -> None:
    """No finalizer holds the AgentWorkload; the owner reference takes the Workflow (and
    Argo's pods and task results with it)."""
    shared.submit("short-lived")
    shared.wait_condition("short-lived", "WorkflowCreated", "True")
    shared.executor.pod("short-lived", pipeline.STEP_SCRAPER)
    shared.delete("short-lived")
    assert shared.get("short-lived") is None  # gone at once: nothing waits for the operator
    wait_for(lambda: shared.workflow("short-lived") is None, timeout=90, what="the garbage collector")
    wait_for(lambda: not shared.pods("short-lived"), timeout=90, what="the Workflow's pods to go with it")
