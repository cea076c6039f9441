"""Faults the real control plane produces on demand: the API server goes away mid-run."""

from __future__ import annotations

import threading

from agentic_contract import pipeline
from testkit.operator_process import OperatorProcess
from tests.cluster.controlplane import ControlPlane, wait_for
from tests.cluster.scenarios.workloads import Workloads


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
