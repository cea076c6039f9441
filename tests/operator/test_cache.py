"""The compact watch cache reads as the full objects do, and keeps the newest copy."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentic_contract import pipeline
from agentic_operator import argo
from agentic_operator import reconcile as core
from agentic_operator.cache import Store, compact_workflow, compact_workload
from testkit import argo_sim
from testkit.factories import SETTINGS, workflow, workload
from testkit.world import NOW

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "argo-fixtures"


def lifecycle() -> list[dict[str, Any]]:
    """Every state argo_sim passes through, the resumed gate and a stop included."""
    wl = workload()
    wf = {**workflow(wl), "metadata": {**workflow(wl)["metadata"], "uid": "wf-uid", "resourceVersion": "7"}}
    states = [wf]
    while (nxt := argo_sim.advance(states[-1])) is not None:
        states.append(nxt)
    outputs = {pipeline.GATE_DECISION: pipeline.APPROVED, pipeline.GATE_DECIDED_BY: "p", pipeline.GATE_REASON: "ok"}
    states.append(argo.resume(states[-1], node_selector=f"displayName={pipeline.STEP_GATE}", outputs=outputs))
    while (nxt := argo_sim.advance(states[-1])) is not None:
        states.append(nxt)
    stopped = {**states[3], "spec": {**states[3]["spec"], "shutdown": "Stop"}}
    return [*states, stopped, argo_sim.advance(stopped) or stopped]


def corpus() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted(CORPUS.glob("*.yaml"))] if CORPUS.is_dir() else []


def compressed(wf: dict[str, Any]) -> dict[str, Any]:
    nodes = wf["status"].pop("nodes")
    wf["status"]["compressedNodes"] = base64.b64encode(gzip.compress(json.dumps(nodes).encode())).decode()
    return wf


@pytest.mark.parametrize("wf", [*lifecycle(), *corpus(), compressed(lifecycle()[5])])
def test_the_compact_workflow_reads_as_the_full_one(wf: dict[str, Any]) -> None:
    small = compact_workflow(wf)
    assert argo.workflow_status(small, default_bucket="b") == argo.workflow_status(wf, default_bucket="b")
    assert argo.owner_references(small) == argo.owner_references(wf)
    wl = workload()
    full_plan = core.reconcile(wl, wf, now=NOW, settings=SETTINGS)
    assert core.reconcile(wl, small, now=NOW, settings=SETTINGS) == full_plan
    if "compressedNodes" not in wf.get("status", {}):  # decoded nodes are larger than gzip's
        assert len(json.dumps(small)) <= len(json.dumps(wf))


def test_unreadable_compressed_nodes_stay_unreadable() -> None:
    wf = {"metadata": {"name": "x"}, "status": {"phase": "Running", "compressedNodes": "not-base64!"}}
    assert argo.workflow_status(compact_workflow(wf)).nodes_error == argo.workflow_status(wf).nodes_error


def test_the_workload_loses_only_its_managed_fields() -> None:
    wl = workload(status={"phase": "Running"})
    wl["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    small = compact_workload(wl)
    assert "managedFields" not in small["metadata"]
    assert {**small, "metadata": {**small["metadata"], "managedFields": wl["metadata"]["managedFields"]}} == wl


def test_an_older_copy_never_replaces_a_newer_one() -> None:
    store = Store()
    assert store.put({"metadata": {"namespace": "a", "name": "x", "resourceVersion": "5"}})
    assert not store.put({"metadata": {"namespace": "a", "name": "x", "resourceVersion": "4"}})
    assert store.put({"metadata": {"namespace": "b", "name": "y", "resourceVersion": "opaque"}})
    assert store.keys_in("a") == [("a", "x")] and len(store) == 2
