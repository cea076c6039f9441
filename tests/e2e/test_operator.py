"""The real operator process against the emulated API server, with Argo played by the test.

The operator is `python -m agentic_operator`, logged in through a kubeconfig, asking the
real OPA on loopback, loaded as the sidecar loads policies/ (the session's `opa`). Tests that do not restart the operator or break OPA share one operator and
use workloads of their own names.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client.exceptions import NotFoundException

from agentic_contract import pipeline
from agentic_operator import api, argo
from components.bundle import operator_source
from components.operator import operator_rules
from testkit.apiserver.cluster import Cluster
from testkit.apiserver.traffic import Call
from testkit.factories import workload
from testkit.opa import OpaServer
from testkit.operator_process import ArgoPlayer, OperatorProcess
from testkit.processes import free_port

pytestmark = pytest.mark.e2e
NS = "team-a"
LOW_CONFIDENCE = {"dom-extractor": {"confidence": "0.42", "elements": "120"}}
TEMPLATE = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "WorkflowTemplate",
    "metadata": {"name": api.DEFAULT_TEMPLATE},
    "spec": {"entrypoint": pipeline.ENTRYPOINT},
}


def make_cluster() -> Cluster:
    cluster = Cluster(namespaces=(NS,), timeout=10).start()
    cluster.create("workflowtemplates", NS, TEMPLATE)
    return cluster


@pytest.fixture(scope="module")
def shared(opa: OpaServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, OperatorProcess]]:
    cluster = make_cluster()
    try:
        with OperatorProcess(cluster, tmp_path_factory.mktemp("operator"), opa_url=opa.url) as operator:
            yield cluster, operator
    finally:
        cluster.stop()


@pytest.fixture
def cluster(shared: tuple[Cluster, OperatorProcess]) -> Iterator[Cluster]:
    cluster, operator = shared
    yield cluster
    cluster.clear_faults()
    assert operator.alive(), f"the operator died:\n{operator.log()[-3000:]}"


@pytest.fixture
def argo_(cluster: Cluster) -> ArgoPlayer:
    return ArgoPlayer(cluster, NS)


# --- helpers ------------------------------------------------------------------------------


def submit(cluster: Cluster, name: str, **spec: Any) -> None:
    body = workload(name=name, namespace=NS, **spec)
    for key in ("uid", "resourceVersion", "generation"):
        body["metadata"].pop(key)
    cluster.create("agentworkloads", NS, body)


def status(cluster: Cluster, name: str) -> dict[str, Any]:
    return dict(cluster.get("agentworkloads", NS, name).get("status") or {})


def wait_status(
    cluster: Cluster, name: str, check: Callable[[dict[str, Any]], bool], timeout: float = 15
) -> dict[str, Any]:
    def ready() -> dict[str, Any]:
        current = status(cluster, name)
        return current if current and check(current) else {}

    return cluster.wait_for(ready, timeout=timeout, interval=0.02)


def wait_phase(cluster: Cluster, name: str, phase: str, timeout: float = 15) -> dict[str, Any]:
    try:
        return wait_status(cluster, name, lambda s: s.get("phase") == phase, timeout)
    except TimeoutError:
        raise AssertionError(f"{name} not {phase}: {status(cluster, name)}") from None


def condition(st: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in st.get("conditions", []) if c["type"] == type_)


def gate_outputs(cluster: Cluster, name: str) -> dict[str, str]:
    nodes = argo.nodes_of(cluster.get("workflows", NS, name))
    gate = next(n for n in nodes.values() if n.get("displayName") == pipeline.STEP_GATE)
    assert gate["phase"] == "Succeeded", gate
    return {p["name"]: p["value"] for p in gate["outputs"]["parameters"]}


def to_gate(cluster: Cluster, player: ArgoPlayer, name: str, **kwargs: Any) -> None:
    cluster.wait_for(lambda: cluster.get("workflows", NS, name), timeout=15, ignore=(NotFoundException,))
    player.run(name, **kwargs)


def approve(cluster: Cluster, name: str, value: str = "approved", by: str = "alice") -> None:
    annotations = {
        "agentic.dev/approval": value,
        "agentic.dev/approval-by": by,
        "agentic.dev/approval-reason": f"{value} in a test",
    }
    cluster.patch("agentworkloads", NS, name, {"metadata": {"annotations": annotations}})


def event_reasons(cluster: Cluster, name: str) -> list[str]:
    return [e["reason"] for e in cluster.objects("events", NS) if e["involvedObject"]["name"] == name]


# --- the lifecycle ------------------------------------------------------------------------


def test_happy_path_with_auto_approval(cluster: Cluster, argo_: ArgoPlayer) -> None:
    submit(cluster, "happy")
    st = wait_phase(cluster, "happy", "Pending")
    assert condition(st, "Admitted")["status"] == "True" and st["argoWorkflow"]["name"] == "happy"
    wf = cluster.get("workflows", NS, "happy")
    assert wf["metadata"]["ownerReferences"][0]["uid"] == cluster.get("agentworkloads", NS, "happy")["metadata"]["uid"]

    to_gate(cluster, argo_, "happy")
    st = wait_status(cluster, "happy", lambda s: condition_status(s, "Approved") == "True")
    assert gate_outputs(cluster, "happy")["decision"] == "approved"
    assert [d["stage"] for d in st["decisions"]] == ["admission", "gate"]

    argo_.run("happy")
    st = wait_phase(cluster, "happy", "Succeeded")
    assert st["argoPhase"] == "Succeeded" and st["progress"] == "4/4" and condition(st, "Ready")["status"] == "True"
    assert st["workflowArtifacts"]["synthesis/report"] == "s3://agentic-artifacts/job-happy/synthesis/report.tgz"
    cluster.wait_for(lambda: {"Pending", "Running", "Succeeded"} <= set(event_reasons(cluster, "happy")))
    assert "finalizers" not in cluster.get("agentworkloads", NS, "happy")["metadata"]


def condition_status(st: dict[str, Any], type_: str) -> str | None:
    return next((c["status"] for c in st.get("conditions", []) if c["type"] == type_), None)


def test_gate_denied_then_approved_by_annotation(cluster: Cluster, argo_: ArgoPlayer) -> None:
    submit(cluster, "human-yes")
    to_gate(cluster, argo_, "human-yes", reports=LOW_CONFIDENCE)
    st = wait_phase(cluster, "human-yes", "AwaitingApproval")
    assert "below the auto-approve threshold" in condition(st, "Approved")["message"]
    assert cluster.get("workflows", NS, "human-yes")["status"]["phase"] == "Running"  # still waiting at the gate

    approve(cluster, "human-yes")
    wait_status(cluster, "human-yes", lambda s: condition_status(s, "Approved") == "True")
    outputs = gate_outputs(cluster, "human-yes")
    assert outputs == {"decision": "approved", "decided-by": "annotation:alice", "reason": "approved in a test"}
    argo_.run("human-yes", reports=LOW_CONFIDENCE)
    st = wait_phase(cluster, "human-yes", "Succeeded")
    assert st["decisions"][-1]["source"] == "annotation:alice"


def test_rejected_by_annotation_stops_the_workflow(cluster: Cluster, argo_: ArgoPlayer) -> None:
    submit(cluster, "human-no")
    to_gate(cluster, argo_, "human-no", reports=LOW_CONFIDENCE)
    wait_phase(cluster, "human-no", "AwaitingApproval")
    approve(cluster, "human-no", "rejected", by="bob")
    st = wait_phase(cluster, "human-no", "Rejected")
    assert condition(st, "Approved")["reason"] == "HumanRejected"
    cluster.wait_for(lambda: cluster.get("workflows", NS, "human-no")["spec"].get("shutdown") == "Stop")
    wf = argo_.run("human-no")  # Argo honours the shutdown
    assert wf["status"]["phase"] == "Failed"
    assert not any(n.get("displayName") == pipeline.STEP_SYNTHESIS for n in argo.nodes_of(wf).values())
    st = wait_status(cluster, "human-no", lambda s: s.get("argoPhase") == "Failed")
    assert st["phase"] == "Rejected"


def test_approval_timeout_rejects(cluster: Cluster, argo_: ArgoPlayer) -> None:
    submit(cluster, "too-slow", timeouts={"executionSeconds": 600, "approvalSeconds": 30})
    long_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    to_gate(cluster, argo_, "too-slow", reports=LOW_CONFIDENCE, at=long_ago)
    st = wait_phase(cluster, "too-slow", "Rejected")
    assert condition(st, "Approved")["reason"] == "ApprovalTimeout" and st["decisions"][-1]["stage"] == "timeout"
    cluster.wait_for(lambda: cluster.get("workflows", NS, "too-slow")["spec"].get("shutdown") == "Stop")


def test_workflow_failure_is_mirrored(cluster: Cluster, argo_: ArgoPlayer) -> None:
    submit(cluster, "breaks")
    to_gate(cluster, argo_, "breaks", fail_step=pipeline.STEP_SCRAPER)
    st = wait_phase(cluster, "breaks", "Failed")
    assert st["argoPhase"] == "Failed" and "failed" in st["message"]


def test_admission_denied_creates_no_workflow(cluster: Cluster) -> None:
    submit(cluster, "metadata-grab", targetUrls=["http://169.254.169.254/latest/meta-data/"])
    st = wait_phase(cluster, "metadata-grab", "Rejected")
    assert condition(st, "Admitted")["reason"] == "PolicyDenied" and "169.254.169.254" in st["message"]
    time.sleep(0.2)
    with pytest.raises(NotFoundException):
        cluster.get("workflows", NS, "metadata-grab")


def test_malformed_workload_is_rejected_and_the_operator_keeps_going(cluster: Cluster, argo_: ArgoPlayer) -> None:
    """The emulator enforces no CRD schema, so this object reaches the operator as sent."""
    cluster.create(
        "agentworkloads",
        NS,
        {"apiVersion": "agentic.dev/v1alpha1", "kind": "AgentWorkload", "metadata": {"name": "garbage"},
         "spec": {"targetUrls": "https://example.com", "objective": 7, "autoApproveThreshold": "high"}},
    )  # fmt: skip
    st = wait_phase(cluster, "garbage", "Rejected")
    assert condition(st, "Admitted")["reason"] == "InvalidSpec"
    for field in ("spec.targetUrls", "spec.objective", "spec.autoApproveThreshold"):
        assert field in st["message"]
    submit(cluster, "after-garbage")
    wait_phase(cluster, "after-garbage", "Pending")


def test_deleting_the_workload_deletes_its_workflow(cluster: Cluster) -> None:
    submit(cluster, "short-lived")
    cluster.wait_for(lambda: cluster.get("workflows", NS, "short-lived"), ignore=(NotFoundException,))
    cluster.delete("agentworkloads", NS, "short-lived")
    cluster.wait_for(lambda: not any(w["metadata"]["name"] == "short-lived" for w in cluster.objects("workflows", NS)))


def test_metrics_and_health(shared: tuple[Cluster, OperatorProcess], cluster: Cluster) -> None:
    submit(cluster, "counted")
    wait_phase(cluster, "counted", "Pending")
    cluster.wait_for(lambda: "Pending" in event_reasons(cluster, "counted"))
    time.sleep(0.2)
    before = cluster.requests(agent="agentic-operator", method="POST", code=201)
    text = shared[1].metrics()
    after = cluster.requests(agent="agentic-operator", method="POST", code=201)
    assert shared[1].get("/healthz") == (200, "ok") and shared[1].get("/readyz") == (200, "ready")
    assert 'agentic_reconciles_total{result="ok"}' in text
    assert 'agentic_decisions_total{allowed="true",stage="admission"}' in text
    assert 'agentic_workloads{phase="Pending"}' in text
    counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("agentic_api_requests_total{") and 'method="POST"' in line and 'code="201"' in line
    )
    assert 0 < before <= counted <= after  # the operator's own request counter agrees with the server's log


def test_an_idle_operator_sends_no_requests(cluster: Cluster) -> None:
    """Event-driven: with nothing changing, only the open watches remain."""
    time.sleep(0.3)
    cluster.reset_requests()
    time.sleep(1.5)
    assert cluster.requests() - cluster.requests(verb="watch") == 0


# --- faults -------------------------------------------------------------------------------


def test_create_errors_are_retried_and_make_one_workflow(cluster: Cluster) -> None:
    cluster.inject(status=500, method="POST", resource="workflows", name=None, times=2)
    submit(cluster, "flaky-create")
    wait_phase(cluster, "flaky-create", "Pending")
    assert cluster.requests(method="POST", resource="workflows", code=500) == 2
    assert [w["metadata"]["name"] for w in cluster.objects("workflows", NS)].count("flaky-create") == 1


def test_resume_conflicts_are_retried_with_a_fresh_read(cluster: Cluster, argo_: ArgoPlayer) -> None:
    submit(cluster, "contended")
    cluster.wait_for(lambda: cluster.get("workflows", NS, "contended"), ignore=(NotFoundException,))
    cluster.inject(status=409, method="PUT", resource="workflows", name="contended", times=2)
    argo_.run("contended")
    wait_status(cluster, "contended", lambda s: condition_status(s, "Approved") == "True")
    assert gate_outputs(cluster, "contended")["decision"] == "approved"


def test_status_write_errors_are_retried(cluster: Cluster) -> None:
    cluster.inject(
        status=500, method="PATCH", resource="agentworkloads", subresource="status", name="flaky-status", times=3
    )
    submit(cluster, "flaky-status")
    wait_phase(cluster, "flaky-status", "Pending")
    assert cluster.requests(resource="agentworkloads", subresource="status", name="flaky-status", code=500) == 3


def test_api_timeouts_are_retried(cluster: Cluster) -> None:
    """A template the operator has not read yet (one found is remembered for a minute)."""
    cluster.create("workflowtemplates", NS, {**TEMPLATE, "metadata": {"name": "slow-template"}})
    cluster.inject(delay=2.5, method="GET", resource="workflowtemplates", times=1)
    submit(cluster, "slow-api", workflowTemplateRef={"name": "slow-template"})
    wait_phase(cluster, "slow-api", "Pending", timeout=20)
    assert cluster.requests(method="GET", resource="workflowtemplates", code=499) == 1  # abandoned after 1 s


def test_resume_errors_and_timeouts_are_retried(cluster: Cluster, argo_: ArgoPlayer) -> None:
    """Only the operator PUTs Workflows (to resume): two 500s, then one held past the
    client's 1 s timeout; the gate is still resumed, exactly once."""
    submit(cluster, "flaky-resume")
    cluster.wait_for(lambda: cluster.get("workflows", NS, "flaky-resume"), ignore=(NotFoundException,))
    cluster.inject(status=500, method="PUT", resource="workflows", name="flaky-resume", times=2)
    cluster.inject(delay=2.5, method="PUT", resource="workflows", name="flaky-resume", times=1)
    argo_.run("flaky-resume")
    wait_status(cluster, "flaky-resume", lambda s: condition_status(s, "Approved") == "True", timeout=20)
    assert gate_outputs(cluster, "flaky-resume")["decision"] == "approved"
    assert cluster.requests(method="PUT", resource="workflows", name="flaky-resume", code=500) == 2
    assert cluster.requests(method="PUT", resource="workflows", name="flaky-resume", code=200) == 1


# --- restarts (an operator of their own) ----------------------------------------------------


@pytest.fixture
def own() -> Iterator[tuple[Cluster, ArgoPlayer]]:
    """A cluster of its own, for a test that starts and stops operators."""
    cluster = make_cluster()
    try:
        yield cluster, ArgoPlayer(cluster, NS)
    finally:
        cluster.stop()


def one_approved_one_waiting(cluster: Cluster, player: ArgoPlayer, auto: str, human: str) -> None:
    """Two workloads at the gate: ``auto`` approved by the policy, ``human`` awaiting a human."""
    submit(cluster, auto)
    submit(cluster, human)
    to_gate(cluster, player, auto)
    to_gate(cluster, player, human, reports=LOW_CONFIDENCE)
    wait_status(cluster, auto, lambda s: condition_status(s, "Approved") == "True")
    wait_phase(cluster, human, "AwaitingApproval")


def test_restart_mid_gate_makes_no_second_workflow_and_resumes_once(
    opa: OpaServer, own: tuple[Cluster, ArgoPlayer], tmp_path: Path
) -> None:
    cluster, player = own
    with OperatorProcess(cluster, tmp_path, opa_url=opa.url):
        one_approved_one_waiting(cluster, player, "restart-auto", "restart-human")
    puts = cluster.requests(method="PUT", resource="workflows")  # the auto-approved resume
    assert puts == 1
    approve(cluster, "restart-human")  # while no operator runs
    with OperatorProcess(cluster, tmp_path, opa_url=opa.url):
        wait_status(cluster, "restart-human", lambda s: condition_status(s, "Approved") == "True")
        time.sleep(0.5)  # time for a double resume, were there one
    assert cluster.requests(method="POST", resource="workflows", code=201) == 2  # one each, ever
    assert cluster.requests(method="PUT", resource="workflows") == puts + 1  # the human's resume only
    assert gate_outputs(cluster, "restart-human")["decided-by"] == "annotation:alice"


def _allowed(call: Call, rules: list[dict[str, Any]]) -> bool:
    resource = f"{call.resource}/{call.subresource}" if call.subresource else call.resource
    return any(call.group in r["apiGroups"] and resource in r["resources"] and call.verb in r["verbs"] for r in rules)


def test_every_request_the_operator_makes_is_allowed_by_its_role(
    opa: OpaServer, own: tuple[Cluster, ArgoPlayer], tmp_path: Path
) -> None:
    """The Pulumi Role (components.operator.operator_rules) covers what the real process does:
    its lists and watches and its writes, over a lifecycle that creates,
    resumes, stops and follows deletion. (The emulator enforces no RBAC; this is the check.)"""
    cluster, player = own
    with OperatorProcess(cluster, tmp_path, opa_url=opa.url):
        one_approved_one_waiting(cluster, player, "rbac-yes", "rbac-no")
        approve(cluster, "rbac-no", "rejected")
        cluster.wait_for(lambda: cluster.get("workflows", NS, "rbac-no")["spec"].get("shutdown") == "Stop")
        player.run("rbac-yes")
        wait_phase(cluster, "rbac-yes", "Succeeded")
        cluster.wait_for(lambda: "Succeeded" in event_reasons(cluster, "rbac-yes"))
        cluster.delete("agentworkloads", NS, "rbac-yes")
        time.sleep(0.3)
    ours = cluster.calls(agent="agentic-operator")
    resource_calls = {c for c in ours if c.verb}
    assert {(c.agent, c.verb, c.resource) for c in resource_calls} >= {
        ("agentic-operator", "list", "agentworkloads"),
        ("agentic-operator", "watch", "agentworkloads"),
        ("agentic-operator", "list", "workflows"),
        ("agentic-operator", "watch", "workflows"),
        ("agentic-operator", "create", "workflows"),
        ("agentic-operator", "update", "workflows"),
        ("agentic-operator", "patch", "workflows"),
        ("agentic-operator", "patch", "agentworkloads"),
        ("agentic-operator", "create", "events"),
    }
    denied = {c for c in resource_calls if not _allowed(c, operator_rules())}
    assert not denied, f"not allowed by the operator's Role: {denied}"
    assert {c.namespace for c in resource_calls} == {NS}  # a Role per namespace suffices


def test_opa_unreachable_fails_closed_then_recovers(own: tuple[Cluster, ArgoPlayer], tmp_path: Path) -> None:
    """Nothing listens where OPA should be: the workload waits (not rejected); OPA comes up
    there and the workload proceeds."""
    cluster, _ = own
    port = free_port()
    with OperatorProcess(cluster, tmp_path, opa_url=f"http://127.0.0.1:{port}"):
        submit(cluster, "opa-down")
        st = wait_status(cluster, "opa-down", lambda s: condition_status(s, "Admitted") == "Unknown")
        admitted = condition(st, "Admitted")
        assert admitted["reason"] == "PolicyUnavailable" and "unreachable" in admitted["message"].lower()
        assert st["phase"] == "Pending" and not cluster.objects("workflows", NS)
        with OpaServer(workdir=tmp_path / "opa", port=port):
            st = wait_status(cluster, "opa-down", lambda s: condition_status(s, "Admitted") == "True", timeout=20)
            assert st["argoWorkflow"]["name"] == "opa-down"


def test_bundled_mode_runs_the_source_as_the_configmap_lays_it_out(
    opa: OpaServer, own: tuple[Cluster, ArgoPlayer], tmp_path: Path
) -> None:
    """Bundled mode mounts components.bundle's files and puts them on PYTHONPATH, with the
    dependencies beside them and no installed agentic-operator package: the same entry
    point must start and reconcile from exactly that."""
    cluster, _ = own
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
    with OperatorProcess(cluster, tmp_path, opa_url=opa.url, python=(sys.executable, "-S"), env=env):
        submit(cluster, "bundled")
        wait_phase(cluster, "bundled", "Pending")
