"""Faults the real control plane produces on demand: the API server goes away mid-run;
etcd is compacted while the operator's watches are away (410 Gone)."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime

from agentic_contract import pipeline
from agentic_operator import api, argo_names
from testkit.operator_process import OperatorProcess
from tests.cluster.controlplane import ControlPlane, wait_for
from tests.cluster.scenarios.conftest import OPERATOR_USER
from tests.cluster.scenarios.workloads import LOW_CONFIDENCE, Workloads


def _status(operator: OperatorProcess, path: str) -> int:
    try:
        return operator.get(path)[0]
    except OSError as exc:  # urllib raises HTTPError (an OSError) for a 503
        return int(getattr(exc, "code", 0))


def test_api_server_restarted_mid_run_loses_nothing(
    shared: Workloads, cluster: ControlPlane, operator: OperatorProcess
) -> None:
    """kube-apiserver stops while a Workflow runs and comes back on the same port (etcd keeps
    everything): /readyz says not ready while it is away, the watches resume, and every
    step Argo records afterwards reaches the workload's status."""
    shared.submit("api-restart")
    shared.run("api-restart", pipeline.STEP_SCRAPER)
    shared.wait_status("api-restart", lambda s: s.get("phase") == "Running", what="Running")
    assert _status(operator, "/readyz") == 200

    unready = threading.Event()

    def watch_readyz() -> None:
        wait_for(lambda: _status(operator, "/readyz") == 503, timeout=60, interval=0.2, what="/readyz 503")
        unready.set()

    watcher = threading.Thread(target=watch_readyz, daemon=True)
    watcher.start()
    cluster.restart_apiserver(down_for=8)
    watcher.join(timeout=60)
    assert unready.is_set(), "/readyz stayed ready while the API server was down"
    wait_for(lambda: _status(operator, "/readyz") == 200, timeout=60, what="/readyz ready again")
    assert _status(operator, "/healthz") == 200  # alive throughout: nothing to restart

    shared.run("api-restart", pipeline.STEP_SCREENSHOTS)
    shared.run("api-restart", pipeline.STEP_DOM)
    shared.wait_condition("api-restart", "Approved", "True")
    shared.run("api-restart", pipeline.STEP_SYNTHESIS)
    st = shared.wait_phase("api-restart", "Succeeded")
    assert st["progress"] == "5/5" and [d["stage"] for d in st["decisions"]] == ["admission", "gate"]


def _phases(operator: OperatorProcess) -> dict[str, float]:
    """The operator's ``agentic_workloads`` gauge: its workload cache, by phase."""
    found = re.findall(r'^agentic_workloads\{phase="(\w+)"\} (\S+)$', operator.metrics(), re.MULTILINE)
    return {phase: float(value) for phase, value in found}


def test_objects_deleted_while_the_watches_were_away_leave_the_cache(
    shared: Workloads, cluster: ControlPlane, operator: OperatorProcess
) -> None:
    """The operator is frozen while the API server restarts and, meanwhile, an AgentWorkload
    and another's Workflow are deleted and etcd is compacted: its watches come back with a
    resourceVersion older than anything kept (410 Gone) and list again. What the new lists
    lack must leave the operator's caches: the workload from the phase gauge, and the
    Workflow from the other's view, so that a human's approval ends it (Failed, the Workflow
    deleted) instead of resuming a Workflow that is gone, again and again."""
    shared.submit("gap-denied", targetUrls=["http://169.254.169.254/latest/meta-data/"])
    shared.wait_phase("gap-denied", "Rejected")
    shared.submit("gap-waiting")
    shared.to_gate("gap-waiting", LOW_CONFIDENCE)
    shared.wait_phase("gap-waiting", "AwaitingApproval")
    wait_for(lambda: _phases(operator).get("AwaitingApproval", 0) >= 1, what="the gauge to count it")
    before = _phases(operator)
    paused_at = datetime.now(UTC)

    operator.pause()
    try:
        cluster.restart_apiserver()
        shared.delete("gap-denied")
        shared.kube.delete(argo_names.API_VERSION, "Workflow", "gap-waiting", namespace=shared.namespace)
        wait_for(lambda: shared.workflow("gap-waiting") is None, what="the Workflow to be gone")
        cluster.compact_etcd()
    finally:
        operator.resume()

    def listed_again() -> bool:
        return any(
            e["verb"] == "list"
            and (e.get("objectRef") or {}).get("resource") == api.PLURAL
            and datetime.fromisoformat(e["requestReceivedTimestamp"].replace("Z", "+00:00")) > paused_at
            for e in cluster.audit(OPERATOR_USER)
        )

    wait_for(listed_again, timeout=120, what="the operator to list AgentWorkloads again")
    wait_for(
        lambda: _phases(operator).get("Rejected") == before["Rejected"] - 1,
        timeout=60,
        what=f"the deleted workload to leave the cache (gauge before: {before}, now: {_phases(operator)})",
    )
    shared.decide("gap-waiting")
    st = shared.wait_phase("gap-waiting", "Failed")
    assert "was deleted" in st["message"]
