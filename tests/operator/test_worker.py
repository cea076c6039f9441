"""The worker carries plans out against a fake API: requests, writes, retries, restarts."""

from __future__ import annotations

from typing import Any

import pytest

from agentic_operator import argo
from agentic_operator import status as st
from agentic_operator.cache import Store
from agentic_operator.decision import ADMISSION, GATE, Decision, PolicyUnavailable
from agentic_operator.kubeclient import ApiError
from agentic_operator.metrics import Metrics
from agentic_operator.worker import owner_key, workflow_name
from testkit.factories import workflow, workload
from testkit.world import StubPolicy, World

KEY = ("team-a", "demo")
ALLOW = Decision(True, ("ok",), "stub")


@pytest.fixture
def world() -> World:
    return World(StubPolicy({ADMISSION: ALLOW, GATE: ALLOW}))


def test_a_new_workload_is_admitted_and_its_workflow_created(world: World) -> None:
    world.submit(workload())
    world.reconcile(KEY)
    assert world.policy.asked == [ADMISSION]
    assert world.api.writes() == ["create", "patch-status"]
    assert world.status()["phase"] == "Pending"
    assert ("workflows", "team-a", "demo") in world.api.objects
    assert world.events.reasons() == ["Pending"]


def test_reconciling_an_unchanged_world_sends_no_request(world: World) -> None:
    """Reads come from the cache, including our own writes: a repeat costs nothing."""
    world.submit(workload())
    world.reconcile(KEY)
    calls = len(world.api.calls)
    world.reconcile(KEY)
    assert len(world.api.calls) == calls and world.policy.asked == [ADMISSION]


def test_auto_approved_gate_is_resumed_and_recorded(world: World) -> None:
    world.submit(workload())
    world.reconcile(KEY)
    world.argo_runs()
    world.reconcile(KEY)
    assert world.policy.asked == [ADMISSION, GATE]
    assert world.api.writes()[-2:] == ["replace", "patch-status"]  # resume, then status
    wf = world.api.objects[("workflows", "team-a", "demo")]
    assert not argo.workflow_status(wf).suspended
    assert world.status()["phase"] == "Running"
    assert [d["stage"] for d in world.status()["decisions"]] == ["admission", "gate"]
    assert world.metrics.gate_wait._sum.get() == 0.0  # approved when first seen


def test_gate_denied_waits_with_a_requeue_at_the_approval_timeout() -> None:
    world = World(StubPolicy({ADMISSION: ALLOW, GATE: Decision(False, ("low confidence",), "stub")}))
    world.submit(workload())
    world.reconcile(KEY)
    world.argo_runs()
    outcome = world.reconcile(KEY)
    assert world.status()["phase"] == "AwaitingApproval" and outcome.requeue_after == 3600.0
    assert "replace" not in world.api.writes()


def test_a_crashing_policy_fails_closed() -> None:
    world = World(StubPolicy({ADMISSION: ValueError("boom")}))
    world.submit(workload())
    outcome = world.reconcile(KEY)
    assert outcome.backoff and world.status()["phase"] == "Pending"
    assert "ValueError: boom" in st.condition(world.status(), "Admitted")["message"]  # type: ignore[index]
    assert ("workflows", "team-a", "demo") not in world.api.objects
    assert world.metrics.policy_unavailable.labels(ADMISSION)._value.get() == 1


def test_policy_unavailable_then_recovers(world: World) -> None:
    world.policy.answers[ADMISSION] = PolicyUnavailable("OPA unreachable")
    world.submit(workload())
    assert world.reconcile(KEY).backoff
    world.policy.answers[ADMISSION] = ALLOW
    assert not world.reconcile(KEY).backoff
    assert world.status()["phase"] == "Pending" and ("workflows", "team-a", "demo") in world.api.objects
    assert st.condition(world.status(), "Admitted")["status"] == "True"  # type: ignore[index]


def test_a_foreign_workflow_of_the_same_name_fails_the_workload_clearly(world: World) -> None:
    world.api.put("workflows", {"metadata": {"name": "demo", "namespace": "team-a"}, "spec": {}})
    world.submit(workload())
    world.reconcile(KEY)
    assert world.status()["phase"] == "Failed"
    assert st.condition(world.status(), "WorkflowCreated")["reason"] == "NameConflict"  # type: ignore[index]


def test_an_api_error_on_create_propagates_and_writes_no_status(world: World) -> None:
    """The runtime retries the key with backoff; nothing half-done is recorded."""
    world.submit(workload())
    world.api.fail("create", 500)
    with pytest.raises(ApiError):
        world.reconcile(KEY)
    assert world.status() == {} and "patch-status" not in world.api.writes()
    world.reconcile(KEY)  # the retry
    assert world.status()["phase"] == "Pending" and ("workflows", "team-a", "demo") in world.api.objects


def test_restart_mid_gate_neither_recreates_nor_resumes_twice(world: World) -> None:
    world.submit(workload())
    world.reconcile(KEY)
    world.argo_runs()
    world.reconcile(KEY)
    restarted = world.fresh_worker()
    before = world.api.writes()
    world.reconcile(KEY, restarted)
    assert world.api.writes() == before  # no create, no resume, no status write
    assert world.policy.asked == [ADMISSION, GATE]


def test_deleted_workload_is_a_no_op(world: World) -> None:
    assert world.reconcile(KEY).requeue_after is None and world.api.calls == []


def test_owner_key_and_workflow_name() -> None:
    wl = workload(name="demo", jobId="job-7")
    wf = workflow(wl)
    assert owner_key(wf) == ("team-a", "demo")
    assert owner_key({"metadata": {"name": "x", "namespace": "n"}}) is None
    assert workflow_name(wl) == "job-7" and workflow_name(workload()) == "demo"


def test_store_keeps_the_newest_version() -> None:
    store = Store()
    store.put({"metadata": {"namespace": "n", "name": "a", "resourceVersion": "5"}, "v": "new"})
    store.put({"metadata": {"namespace": "n", "name": "a", "resourceVersion": "4"}, "v": "stale"})
    assert store.get(("n", "a"))["v"] == "new"  # type: ignore[index]
    store.put({"metadata": {"namespace": "n", "name": "a", "resourceVersion": "6"}, "v": "newer"})
    assert store.get(("n", "a"))["v"] == "newer"  # type: ignore[index]
    store.delete(("n", "a"))
    assert store.get(("n", "a")) is None and len(store) == 0


def test_phase_gauge_counts_the_cache(world: World) -> None:
    world.submit(workload())
    world.reconcile(KEY)
    metrics = Metrics(lambda: list(world.worker.workloads))
    text = metrics.exposition().decode()
    assert 'agentic_workloads{phase="Pending"} 1.0' in text and 'agentic_workloads{phase="Running"} 0.0' in text


def test_a_stale_cached_workflow_is_read_fresh_and_forgotten(world: World) -> None:
    """A DELETED event lost across a re-list leaves an old Workflow in the cache: the worker
    reads the API, drops it, and creates the new workload's Workflow."""
    world.worker.workflows.put(workflow(workload(uid="old-incarnation")))
    world.submit(workload())
    world.reconcile(KEY)
    assert world.status()["phase"] == "Pending" and ("workflows", "team-a", "demo") in world.api.objects
    assert argo.is_owned_by(world.worker.workflows.get(KEY) or {}, workload())


def test_a_human_approval_of_a_workflow_gone_from_the_api_ends_the_workload_once() -> None:
    """The gate's Workflow is deleted and its DELETED event lost (a re-list after 410): the
    cache still shows it waiting. A human approves; the resume reads it fresh, finds it gone,
    and the workload fails saying so, instead of raising WorkflowNotFoundError forever."""
    world = World(StubPolicy({ADMISSION: ALLOW, GATE: Decision(False, ("low confidence",), "stub")}))
    world.submit(workload())
    world.reconcile(KEY)
    world.argo_runs()
    world.reconcile(KEY)
    assert world.status()["phase"] == "AwaitingApproval"
    del world.api.objects[("workflows", "team-a", "demo")]  # the cache keeps it
    approved = workload(annotations={"agentic.dev/approval": "approved", "agentic.dev/approval-by": "alice"})
    world.submit({**approved, "status": world.status()})
    world.reconcile(KEY)
    assert world.status()["phase"] == "Failed" and "was deleted" in world.status()["message"]
    assert world.worker.workflows.get(KEY) is None
    writes = world.api.writes()
    world.reconcile(KEY)
    assert world.api.writes() == writes  # settled: nothing more to do


def test_a_workload_gone_from_the_api_is_dropped_from_the_cache(world: World) -> None:
    world.submit(workload())
    del world.api.objects[("agentworkloads", "team-a", "demo")]  # deleted; the event was missed
    world.reconcile(KEY)
    assert world.worker.workloads.get(KEY) is None


def test_progress_is_held_per_workload_and_phase_transitions_are_written_at_once() -> None:
    """Argo's steps seen one by one cost a status write per phase, plus one per window."""
    world = World(StubPolicy({ADMISSION: ALLOW, GATE: ALLOW}), coalesce_seconds=10)
    world.submit(workload())
    world.reconcile(KEY)
    assert world.argo_step()  # Argo starts it: Pending -> Running, written at once
    world.reconcile(KEY)
    assert (world.status()["phase"], world.api.writes().count("patch-status")) == ("Running", 2)
    assert world.argo_step()  # progress only: held for the window
    assert world.reconcile(KEY).requeue_after == 10
    world.monotonic = 4
    assert world.reconcile(KEY).requeue_after == 6  # the window runs from the first held change
    assert world.api.writes().count("patch-status") == 2
    world.monotonic = 10
    world.reconcile(KEY)  # due: the newest status is written
    assert world.api.writes().count("patch-status") == 3
    newest = argo.workflow_status(world.api.objects[("workflows", "team-a", "demo")])
    assert (world.status().get("progress"), world.status().get("currentStep")) == (newest.progress, newest.current_step)
    while world.argo_step():  # on to the gate (resumed: the decision held, the phase stays Running), then the end
        world.reconcile(KEY)
        world.reconcile(KEY)  # an echo plans from the held status: nothing is decided twice
    world.reconcile(KEY)
    assert world.status()["phase"] == "Succeeded" and world.policy.asked == [ADMISSION, GATE]
    assert world.api.writes().count("replace") == 1 and world.api.writes().count("patch-status") <= 5
    assert [d["stage"] for d in world.status()["decisions"]] == ["admission", "gate"]
    assert world.events.reasons() == ["Pending", "Running", "Succeeded"]


# --- input that cannot be parsed -------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"spec": {"targetUrls": ["https://example.com/"], "objective": "o", "resources": {"requests": "lots"}}},
            "spec.resources.requests",
        ),
        ({"metadata": {"annotations": ["approved"]}}, "metadata.annotations"),
        ({"metadata": {"generation": "abc"}}, "metadata.generation"),
        (
            {"spec": {"targetUrls": ["https://example.com/"], "objective": "o", "autoApproveThreshold": float("nan")}},
            "spec.autoApproveThreshold",
        ),
    ],
)
def test_a_workload_that_cannot_be_parsed_gets_one_status_write_naming_the_field(
    world: World, change: dict[str, Any], field: str
) -> None:
    """Rejected with the field named, then left alone: no retry, no second write, no Workflow."""
    wl = workload()
    for key, value in change.items():
        wl[key] = {**wl[key], **value} if key == "metadata" else value
    world.submit(wl)
    outcome = world.reconcile(KEY)
    assert not outcome.backoff and outcome.requeue_after is None
    assert world.api.writes() == ["patch-status"] and ("workflows", "team-a", "demo") not in world.api.objects
    admitted = st.condition(world.status(), "Admitted") or {}
    assert admitted.get("reason") == "InvalidSpec" and field in admitted["message"]
    assert world.events.reasons() == ["Rejected"]
    world.reconcile(KEY)
    assert world.api.writes() == ["patch-status"] and world.events.reasons() == ["Rejected"]


def test_a_status_of_another_shape_is_rewritten_by_the_next_write(world: World) -> None:
    world.submit(workload(status={"conditions": 5, "phase": ["Running"], "argoWorkflow": "demo"}))
    world.reconcile(KEY)
    status = world.status()
    assert status["phase"] == "Pending" and isinstance(status["conditions"], list) and "argoWorkflow" in status


def test_a_bug_in_the_core_is_reported_on_the_workload_and_retried_with_backoff(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard: not a key retried forever in silence, and one Event however often it fails."""

    def broken(*_: Any) -> dict[str, Any]:
        raise KeyError("a bug")

    monkeypatch.setattr(argo, "build_workflow", broken)
    world.submit(workload())
    outcome = world.reconcile(KEY)
    assert outcome.backoff
    ready = st.condition(world.status(), "Ready") or {}
    assert ready.get("reason") == "ReconcileError" and "KeyError: 'a bug'" in ready["message"]
    writes = world.api.writes()
    assert world.reconcile(KEY).backoff and world.api.writes() == writes
    assert world.events.reasons() == ["ReconcileError"]
