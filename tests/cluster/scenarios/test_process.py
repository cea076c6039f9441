"""The operator process itself on the real control plane: health, metrics, idleness, OPA
away, and bundled mode's layout."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time
from datetime import UTC, datetime
from pathlib import Path

from components.bundle import operator_source
from testkit.opa import OpaServer
from testkit.operator_process import OperatorProcess
from testkit.processes import free_port
from tests.cluster.platform import Platform
from tests.cluster.scenarios.conftest import OPERATOR_USER, OWN, TokenLogin, operator_process
from tests.cluster.scenarios.workloads import LOW_CONFIDENCE, Workloads, condition


def test_health_and_metrics_after_a_reconcile(shared: Workloads, operator: OperatorProcess) -> None:
    shared.submit("counted")
    shared.wait_condition("counted", "WorkflowCreated", "True")
    assert operator.get("/healthz") == (200, "ok") and operator.get("/readyz") == (200, "ready")
    text = operator.metrics()
    assert 'agentic_reconciles_total{result="ok"}' in text
    assert 'agentic_decisions_total{allowed="true",stage="admission"}' in text
    assert 'agentic_workloads{phase="Pending"}' in text or 'agentic_workloads{phase="Running"}' in text


def test_an_idle_operator_sends_no_requests(shared: Workloads) -> None:
    """Event-driven: with a workload waiting for a human and nothing changing, the API
    server's audit log shows no request from the operator but its open watches."""
    shared.submit("idle", timeouts={"executionSeconds": 3600, "approvalSeconds": 3000})
    shared.to_gate("idle", LOW_CONFIDENCE)
    shared.wait_phase("idle", "AwaitingApproval")
    time.sleep(3)  # the last writes (status, Events) settle
    start = datetime.now(UTC)
    time.sleep(10)
    end = datetime.now(UTC)

    def during(event: dict[str, object]) -> bool:
        when = datetime.fromisoformat(str(event["requestReceivedTimestamp"]).replace("Z", "+00:00"))
        return start <= when < end

    sent = [e for e in shared.cluster.audit(OPERATOR_USER) if e["verb"] != "watch" and during(e)]
    assert sent == [], [(e["verb"], e["requestURI"]) for e in sent]


def test_opa_unreachable_fails_closed_then_recovers(
    own: Workloads, platform: Platform, login: TokenLogin, tmp_path: Path
) -> None:
    """Nothing listens where OPA should be: the workload waits (not rejected, no Workflow);
    OPA comes up there and the workload proceeds."""
    port = free_port()
    with operator_process(platform, login, tmp_path, f"http://127.0.0.1:{port}", OWN):
        own.submit("opa-down")
        st = own.wait_condition("opa-down", "Admitted", "Unknown")
        admitted = condition(st, "Admitted")
        assert admitted["reason"] == "PolicyUnavailable" and "unreachable" in admitted["message"].lower()
        assert st["phase"] == "Pending" and own.workflow("opa-down") is None
        with OpaServer(workdir=tmp_path / "opa", port=port):
            st = own.wait_condition("opa-down", "Admitted", "True")
            assert st["argoWorkflow"]["name"] == "opa-down" and own.workflow("opa-down") is not None


def test_bundled_mode_runs_the_source_as_the_configmap_lays_it_out(
    own: Workloads, platform: Platform, login: TokenLogin, policy_url: str, tmp_path: Path
) -> None:
    """Bundled mode mounts components.bundle's files and puts them on PYTHONPATH, with the
    dependencies beside them and no installed agentic-operator package: the same entry
    point must start and reconcile from exactly that."""
    source = tmp_path / "src"
    bundle = operator_source()
    for item in bundle.items:
        (source / item["path"]).parent.mkdir(parents=True, exist_ok=True)
        (source / item["path"]).write_text(bundle.data[item["key"]])
    # The init container's `pip install --target` result: the dependencies only (links to
    # this venv's), no agentic-operator metadata, no editable-install finder; and -S, so
    # no site processing either.
    deps = tmp_path / "deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(("agentic", "__editable__", "_agentic")) and entry.suffix != ".pth":
            (deps / entry.name).symlink_to(entry)
    env = {"PYTHONPATH": f"{source}:{deps}"}
    where = subprocess.run(
        [sys.executable, "-S", "-c", "import agentic_operator; print(agentic_operator.__file__)"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert where.stdout.strip() == str(source / "agentic_operator" / "__init__.py")
    with operator_process(
        platform, login, tmp_path / "operator", policy_url, OWN, python=(sys.executable, "-S"), env=env
    ):
        own.submit("bundled")
        own.wait_condition("bundled", "WorkflowCreated", "True")
