"""Plays Argo's workflow controller for the visual-analysis pipeline, on plain dicts.

Tests use it to give Workflows the status a real controller would write: node ids are
``<workflow>-<fnv32a(node name)>`` (the root's is the workflow's name), DAG task nodes are
named ``<workflow>.<task>``, the gate is a Suspend node whose supplied output parameters
wait for a value, output artifacts carry only ``s3.key`` with the bucket in
``status.artifactRepositoryRef`` (as newer controllers write them), a ``spec.shutdown``
fails the waiting gate with "Stopped with strategy 'Stop'" and the workflow with it.
Shapes follow ../shared/argo-fixtures (Argo's own test objects).
"""

from __future__ import annotations

import copy
from typing import Any

from agentic_contract import pipeline

BUCKET = "agentic-artifacts"
T0 = "2026-11-26T10:00:00Z"


def fnv32a(text: str) -> int:
    h = 0x811C9DC5
    for byte in text.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def node_id(workflow: str, node_name: str) -> str:
    return workflow if node_name == workflow else f"{workflow}-{fnv32a(node_name)}"


def _params(workflow: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p.get("value", "") for p in workflow["spec"].get("arguments", {}).get("parameters", [])}


def _task(wf: str, task: str, phase: str, *, kind: str = "Pod", at: str = T0, **extra: Any) -> dict[str, Any]:
    name = f"{wf}.{task}"
    node = {
        "id": node_id(wf, name),
        "name": name,
        "displayName": task,
        "type": kind,
        "templateName": task,
        "templateScope": f"local/{wf}",
        "boundaryID": wf,
        "phase": phase,
        "startedAt": at,
        **extra,
    }
    if phase in ("Succeeded", "Failed", "Error"):
        node["finishedAt"] = at
    return node


def _outputs(wf: dict[str, Any], task: str, values: dict[str, str]) -> dict[str, Any]:
    prefix = f"job-{_params(wf).get(pipeline.PARAM_JOB_ID, wf['metadata']['name'])}"
    artifacts = {
        pipeline.STEP_SCRAPER: ["pages"],
        pipeline.STEP_SCREENSHOTS: ["screenshots"],
        pipeline.STEP_DOM: ["dom"],
        pipeline.STEP_SYNTHESIS: ["report"],
    }.get(task, [])
    return {
        "parameters": [{"name": k, "value": v} for k, v in values.items()],
        "artifacts": [{"name": a, "s3": {"key": f"{prefix}/{task}/{a}.tgz"}} for a in artifacts],
        "exitCode": "0",
    }


DEFAULT_REPORTS: dict[str, dict[str, str]] = {
    pipeline.STEP_SCRAPER: {"pages-fetched": "2", "pages-failed": "0"},
    pipeline.STEP_SCREENSHOTS: {"screenshots": "2"},
    pipeline.STEP_DOM: {"confidence": "0.97", "elements": "120"},
    pipeline.STEP_SYNTHESIS: {},
}


def gate_node(wf: str, at: str = T0) -> dict[str, Any]:
    supplied = [{"name": n, "valueFrom": {"supplied": {}}} for n in pipeline.GATE_OUTPUTS]
    return _task(wf, pipeline.STEP_GATE, "Running", kind="Suspend", at=at, outputs={"parameters": supplied})


def advance(
    workflow: dict[str, Any],
    *,
    reports: dict[str, dict[str, str]] | None = None,
    fail_step: str | None = None,
    at: str = T0,
) -> dict[str, Any] | None:
    """One controller pass: the Workflow with its next status, or None if it must wait.

    ``reports`` override what steps report; ``fail_step`` makes that step's pod fail.
    """
    reports = {**DEFAULT_REPORTS, **(reports or {})}
    wf = copy.deepcopy(workflow)
    name = wf["metadata"]["name"]
    status = wf.setdefault("status", {})
    nodes: dict[str, dict[str, Any]] = status.setdefault("nodes", {})

    def get(task: str) -> dict[str, Any] | None:
        return nodes.get(node_id(name, f"{name}.{task}"))

    def put(node: dict[str, Any]) -> None:
        nodes[node["id"]] = node
        root = nodes[name]
        if node["id"] not in root["children"]:
            root["children"].append(node["id"])

    def finish(task: str) -> bool:
        node = get(task)
        assert node is not None
        if task == fail_step:
            node.update(phase="Failed", finishedAt=at, message="Error (exit code 1)")
            nodes[name].update(phase="Failed", finishedAt=at)
            status.update(phase="Failed", finishedAt=at, message=f"child '{node['id']}' failed")
            return False
        node.update(phase="Succeeded", finishedAt=at, outputs=_outputs(wf, task, reports[task]))
        return True

    if status.get("phase") in ("Succeeded", "Failed", "Error"):
        return None
    if not status.get("phase"):
        status.update(
            phase="Running",
            startedAt=at,
            finishedAt=None,
            progress="0/1",
            artifactRepositoryRef={
                "configMap": "artifact-repositories",
                "key": "default-v1",
                "namespace": wf["metadata"].get("namespace", "default"),
                "artifactRepository": {"s3": {"bucket": BUCKET, "endpoint": "minio:9000", "insecure": True}},
            },
        )
        nodes[name] = {
            "id": name,
            "name": name,
            "displayName": name,
            "type": "DAG",
            "templateName": pipeline.ENTRYPOINT,
            "templateScope": f"local/{name}",
            "phase": "Running",
            "startedAt": at,
            "children": [],
        }
        put(_task(name, pipeline.STEP_SCRAPER, "Pending", at=at))
        return wf

    gate = get(pipeline.STEP_GATE)
    if wf["spec"].get("shutdown"):
        message = f"Stopped with strategy '{wf['spec']['shutdown']}'"
        for node in nodes.values():
            if node["phase"] in ("Pending", "Running"):
                node.update(phase="Failed", finishedAt=at, message=message)
        status.update(phase="Failed", finishedAt=at, message=message)
        return wf

    scraper = get(pipeline.STEP_SCRAPER)
    assert scraper is not None
    if scraper["phase"] == "Pending":
        scraper["phase"] = "Running"
        return wf
    if scraper["phase"] == "Running":
        if finish(pipeline.STEP_SCRAPER):
            put(_task(name, pipeline.STEP_SCREENSHOTS, "Running", at=at))
            put(_task(name, pipeline.STEP_DOM, "Running", at=at))
        return wf
    extractors = [get(pipeline.STEP_SCREENSHOTS), get(pipeline.STEP_DOM)]
    if any(e is not None and e["phase"] == "Running" for e in extractors):
        if finish(pipeline.STEP_SCREENSHOTS) and finish(pipeline.STEP_DOM):
            put(gate_node(name, at))
        return wf
    if gate is None or gate["phase"] == "Running":
        return None  # waiting at the gate for someone to resume it
    synthesis = get(pipeline.STEP_SYNTHESIS)
    decision = {p["name"]: p.get("value") for p in gate.get("outputs", {}).get("parameters", [])}
    if synthesis is None:
        if decision.get(pipeline.GATE_DECISION) == pipeline.APPROVED:
            put(_task(name, pipeline.STEP_SYNTHESIS, "Running", at=at))
        else:  # `when` is false: synthesis is skipped (never runs)
            put(_task(name, pipeline.STEP_SYNTHESIS, "Skipped", kind="Skipped", at=at))
            nodes[name].update(phase="Succeeded", finishedAt=at)
            status.update(phase="Succeeded", finishedAt=at)
        return wf
    if synthesis["phase"] == "Running" and finish(pipeline.STEP_SYNTHESIS):
        nodes[name].update(phase="Succeeded", finishedAt=at)
        status.update(phase="Succeeded", finishedAt=at, progress="4/4")
    return wf


def run_until_gate(workflow: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Advance until the controller waits (at the gate) or the workflow ends."""
    while (nxt := advance(workflow, **kwargs)) is not None:
        workflow = nxt
    return workflow
