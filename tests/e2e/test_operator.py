"""Faults at an exact request, which the real control plane cannot give on demand.

The operator's lifecycle, restarts, RBAC, deletion, an API server restart and OPA's
absence run on the real control plane (tests/cluster/scenarios). What stays here needs a
500, a 409, a 429 with Retry-After or a held response at one particular request, which
only the emulated API server (testkit/apiserver) serves on demand. The operator is the
real `python -m agentic_operator`; Argo is replayed from what its controller wrote
(testkit/argo_sim.py); OPA is the real one on loopback, loaded as the sidecar loads
policies/ (the session's ``opa``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes.client.exceptions import NotFoundException

from agentic_contract import pipeline
from agentic_operator import api, argo
from testkit.apiserver.cluster import Cluster
from testkit.factories import workload
from testkit.opa import OpaServer
from testkit.operator_process import ArgoPlayer, OperatorProcess

pytestmark = pytest.mark.e2e
NS = "team-a"
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


def gate_outputs(cluster: Cluster, name: str) -> dict[str, str]:
    nodes = argo.nodes_of(cluster.get("workflows", NS, name))
    gate = next(n for n in nodes.values() if n.get("displayName") == pipeline.STEP_GATE)
    assert gate["phase"] == "Succeeded", gate
    return {p["name"]: p["value"] for p in gate["outputs"]["parameters"]}


def condition_status(st: dict[str, Any], type_: str) -> str | None:
    return next((c["status"] for c in st.get("conditions", []) if c["type"] == type_), None)


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


def test_a_429_is_retried_no_sooner_than_the_api_server_asks(cluster: Cluster) -> None:
    """API Priority and Fairness answers 429 with Retry-After under load (not on demand on a
    real server): the status write waits those seconds, then succeeds."""
    cluster.inject(
        status=429, retry_after=4, method="PATCH", resource="agentworkloads", subresource="status", name="throttled"
    )
    submit(cluster, "throttled")
    cluster.wait_for(lambda: cluster.requests(resource="agentworkloads", name="throttled", code=429) == 1, timeout=10)
    time.sleep(2)  # well inside the 4 s asked for: a backoff of its own would have written by now
    assert cluster.requests(resource="agentworkloads", subresource="status", name="throttled", code=200) == 0
    wait_phase(cluster, "throttled", "Pending")
    assert cluster.requests(resource="agentworkloads", subresource="status", name="throttled", code=429) == 1


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
