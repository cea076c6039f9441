"""Argo's workflow controller for the visual-analysis pipeline, replayed from what it wrote.

The shapes are not invented: ``testkit/argo_fixtures/<stage>.yaml`` are Workflows that
Argo v4.0.5's own controller wrote in the cluster tier (tests/cluster/scenarios, recorded
with ``make argo-fixtures``, compared on every run of the tier) for a workload named
``demo``, at each stage where it then waits for a pod, a human or nothing:

==================  =================================================================
scraper-running     the DAG node, and the scraper whose pod runs
extractors-running  the scraper succeeded (its outputs); both extractors run
gate                waiting at the approval gate: a Running Suspend node whose outputs
                    are ``valueFrom.supplied`` with the template's enum and descriptions
resumed             the gate resumed (approved): synthesis runs
succeeded           done: progress 5/5 (the Suspend node counts), full s3 artifacts
stopped             ``spec.shutdown: Stop`` at the gate (a rejection): Failed
failed              the scraper's agent exited 1: Failed, every later task Omitted
==================  =================================================================

:func:`advance` plays one controller pass on a Workflow the operator built: it moves to
the next stage's recorded status, renamed for the Workflow (node ids are
``<workflow>-<fnv32a(node name)>``, names ``<workflow>.<task>``, artifact keys
``<namespace>/<job id>/...``), with the step outputs a test chooses, the gate as the operator
resumed it, and timestamps kept where the Workflow already had them (new ones are ``at``,
or the recording's, which starts at :data:`T0`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from agentic_contract import pipeline
from agentic_operator import argo
from agentic_operator.timestamps import format_time, parse_time

FIXTURES = Path(__file__).parent / "argo_fixtures"
NAME = "demo"  # the recorded workload, Workflow and job id
NAMESPACE = "team-a"  # the recorded Workflow's namespace
T0 = "2026-11-26T10:00:00Z"  # the recorded Workflow's creationTimestamp
BUCKET = "agentic-artifacts"
STAGES = ("scraper-running", "extractors-running", "gate", "resumed", "succeeded", "stopped", "failed")
# What the reference agent's steps report (the agent branch's demo page); tests override some.
DEFAULT_REPORTS: dict[str, dict[str, str]] = {
    pipeline.STEP_SCRAPER: {"pages-fetched": "1", "pages-failed": "0"},
    pipeline.STEP_SCREENSHOTS: {"screenshots": "1"},
    pipeline.STEP_DOM: {"confidence": "1.00", "elements": "24"},
    pipeline.STEP_SYNTHESIS: {},
}
_ATTEMPT = re.compile(r"\(\d+\)$")  # an attempt's displayName: "scraper(0)"
_TIMES = ("startedAt", "finishedAt", "creationTimestamp", "lastTransitionTime", "time")


class ArgoSimError(AssertionError):
    """A transition the recordings do not cover."""


def fnv32a(text: str) -> int:
    h = 0x811C9DC5
    for byte in text.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def node_id(workflow: str, node_name: str) -> str:
    return workflow if node_name == workflow else f"{workflow}-{fnv32a(node_name)}"


# ---------------------------------------------------------------------------------------
# Recording: what the cluster tier writes, and how it compares.


def _walk(value: Any, change: Callable[[str | None, Any], Any], key: str | None = None) -> Any:
    """``value`` rebuilt with ``change(key, leaf)`` applied to every leaf (and dict key)."""
    if isinstance(value, dict):
        return {change(None, k): _walk(v, change, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, change, key) for v in value]
    return change(key, value)


def _prefix(namespace: str, job: str) -> str:
    return pipeline.ARTIFACT_PREFIX.format(namespace=namespace, job_id=job)


def _rekey(leaf: str, old: str, new: str) -> str:
    """An artifact key under the prefix ``old`` moved under ``new`` (other text as it is)."""
    return new + leaf[len(old) :] if leaf.startswith(old) else leaf


def renamed(obj: Mapping[str, Any], old: str, new: str) -> dict[str, Any]:
    """A Workflow of ``old`` (workload, Workflow and job id alike) as Argo would have written
    it for ``new``: node ids rehashed, node names, parameters renamed, and artifact keys
    moved from ``<namespace>/<old>/`` to ``<namespace>/<new>/``."""
    if old == new:
        return copy.deepcopy(dict(obj))
    ids = {i: node_id(new, new + n["name"][len(old) :]) for i, n in argo.nodes_of(obj).items()}
    namespace = obj["metadata"]["namespace"]

    def change(key: str | None, leaf: Any) -> Any:
        if not isinstance(leaf, str):
            return leaf
        if leaf in ids:
            return ids[leaf]
        if leaf == old:
            return new
        if leaf.startswith(old + "."):
            return new + leaf[len(old) :]
        return _rekey(leaf, _prefix(namespace, old), _prefix(namespace, new))

    return dict(_walk(obj, change))


def normalized(workflow: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A Workflow from the cluster, as a fixture: renamed to ``demo``, timestamps moved to
    start at :data:`T0`, and what the API server assigns per object (uid,
    resourceVersion, managedFields, ...) replaced or dropped."""
    wf = renamed(workflow, name, NAME)
    meta = wf["metadata"]
    created = parse_time(meta["creationTimestamp"])
    assert created is not None
    for key in ("managedFields", "resourceVersion", "generation", "uid"):
        meta.pop(key, None)
    meta.get("annotations", {}).pop("workflows.argoproj.io/last-seen-version", None)
    namespace, meta["namespace"] = meta["namespace"], NAMESPACE
    for ref in meta.get("ownerReferences", []):
        ref["uid"] = "11111111-2222-3333-4444-555555555555"
    shift = parse_time(T0) - created  # type: ignore[operator]

    def change(key: str | None, leaf: Any) -> Any:
        if not isinstance(leaf, str):
            return leaf
        if key in _TIMES and (when := parse_time(leaf)) is not None:
            return format_time(when + shift)
        if key == "namespace" and leaf == namespace:
            return NAMESPACE
        return _rekey(leaf, _prefix(namespace, NAME), _prefix(NAMESPACE, NAME))

    return dict(_walk(wf, change))


def shape(workflow: Mapping[str, Any]) -> dict[str, Any]:
    """What must not change between two recordings of a stage: all but times, durations and
    the order of parallel children."""

    def change(key: str | None, leaf: Any) -> Any:
        if key in _TIMES and leaf is not None:
            return "<time>"
        return leaf

    wf = dict(_walk(workflow, change))
    status = wf.get("status") or {}
    for holder in [status, *argo.nodes_of(wf).values()]:
        if "resourcesDuration" in holder:
            holder["resourcesDuration"] = "<duration>"
        for key in ("children", "outboundNodes"):  # parallel tasks come in either order
            if key in holder:
                holder[key] = sorted(holder[key])
    return wf


@cache
def _recorded(stage: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((FIXTURES / f"{stage}.yaml").read_text())
    return loaded


def recorded(stage: str, name: str = NAME) -> dict[str, Any]:
    """The Workflow Argo's controller wrote at ``stage`` (a copy), for a workload ``name``."""
    if stage not in STAGES:
        raise ArgoSimError(f"no recording of stage {stage!r} (recorded: {', '.join(STAGES)})")
    return renamed(_recorded(stage), NAME, name)


# ---------------------------------------------------------------------------------------
# Playing the controller.


def _steps(wf: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {n.get("displayName", ""): n for n in argo.nodes_of(wf).values()}


def _next_stage(wf: Mapping[str, Any], fail_step: str | None) -> str | None:
    status = wf.get("status") or {}
    if status.get("phase") in argo.COMPLETED_PHASES:
        return None
    if not status.get("phase"):
        return "scraper-running"  # (its Pending moment lasts a controller pass: not recorded)
    steps = _steps(wf)
    phase = {step: node.get("phase") for step, node in steps.items()}
    if (wf.get("spec") or {}).get("shutdown"):
        if phase.get(pipeline.STEP_GATE) != "Running":
            raise ArgoSimError("a shutdown is recorded only at the gate (a rejection)")
        return "stopped"
    if phase.get(pipeline.STEP_SCRAPER) == "Running":
        return "failed" if fail_step == pipeline.STEP_SCRAPER else "extractors-running"
    if fail_step not in (None, pipeline.STEP_SCRAPER):
        raise ArgoSimError(f"only the scraper's failure is recorded, not {fail_step!r}'s")
    if phase.get(pipeline.STEP_DOM) == "Running":
        return "gate"
    gate = phase.get(pipeline.STEP_GATE)
    if gate == "Running":
        return None  # suspended: waits for someone to resume it
    if gate == "Succeeded" and pipeline.STEP_SYNTHESIS not in steps:
        outputs = {p["name"]: p.get("value") for p in steps[pipeline.STEP_GATE]["outputs"]["parameters"]}
        if outputs.get(pipeline.GATE_DECISION) != pipeline.APPROVED:
            raise ArgoSimError("the operator resumes only with decision=approved; a rejection stops")
        return "resumed"
    if phase.get(pipeline.STEP_SYNTHESIS) == "Running":
        return "succeeded"
    raise ArgoSimError(f"no recorded stage follows {phase}")


def _report(node: dict[str, Any], values: Mapping[str, str]) -> None:
    """The step's output parameters as its agent wrote them."""
    for param in (node.get("outputs") or {}).get("parameters") or []:
        if param["name"] in values:
            param["value"] = values[param["name"]]


def _stamp(new: dict[str, Any], old: Mapping[str, Any], at: str | None) -> None:
    """Times the Workflow already had stay; new ones are ``at`` when given."""
    pairs = [
        (new, old),
        *((n, argo.nodes_of({"status": old}).get(i, {})) for i, n in argo.nodes_of({"status": new}).items()),
    ]
    for holder, before in pairs:
        for key in ("startedAt", "finishedAt"):
            if before.get(key):
                holder[key] = before[key]
            elif holder.get(key) and at is not None:
                holder[key] = at


def advance(
    workflow: Mapping[str, Any],
    *,
    reports: Mapping[str, Mapping[str, str]] | None = None,
    fail_step: str | None = None,
    at: str | None = None,
) -> dict[str, Any] | None:
    """One controller pass: the Workflow with its next status, or None if it must wait.

    ``reports`` override what steps report; ``fail_step`` (the scraper: the recorded
    failure) makes that step's agent exit 1; ``at`` stamps what happens in this pass.
    """
    stage = _next_stage(workflow, fail_step)
    if stage is None:
        return None
    wf = copy.deepcopy(dict(workflow))
    name = wf["metadata"]["name"]
    job = next((p["value"] for p in wf["spec"]["arguments"]["parameters"] if p["name"] == pipeline.PARAM_JOB_ID), name)
    recording = _rekeyed(recorded(stage, name), wf["metadata"].get("namespace", NAMESPACE), name, job)
    status = recording["status"]
    values = {**DEFAULT_REPORTS, **(reports or {})}
    for node in argo.nodes_of(recording).values():  # a step's node, and its attempts' under a retryStrategy
        step = _ATTEMPT.sub("", node.get("displayName", ""))
        if step in values and node.get("phase") == "Succeeded":
            _report(node, values[step])
    current_gate = _steps(wf).get(pipeline.STEP_GATE)
    if current_gate is not None and current_gate.get("phase") == "Succeeded":
        argo.nodes_of(recording)[current_gate["id"]].update(copy.deepcopy(current_gate))  # as the operator resumed it
    _stamp(status, wf.get("status") or {}, at)
    wf["status"] = status
    labels = wf["metadata"].setdefault("labels", {})
    labels.update({k: v for k, v in recording["metadata"].get("labels", {}).items() if k.startswith("workflows.")})
    annotations = wf["metadata"].setdefault("annotations", {})
    annotations.update(
        {k: v for k, v in recording["metadata"].get("annotations", {}).items() if k.startswith("workflows.")}
    )
    return wf


def _rekeyed(recording: dict[str, Any], namespace: str, name: str, job: str) -> dict[str, Any]:
    """The recording of ``name`` for a Workflow in ``namespace`` whose job id is ``job``
    (the operator's may differ from the Workflow's name): artifact keys under
    ``<namespace>/<job>/``, and ``job`` the ``job-id`` parameter wherever one is recorded."""
    old, new = _prefix(NAMESPACE, name), _prefix(namespace, job)
    if old == new:
        return recording

    def change(value: Any) -> Any:
        if isinstance(value, dict):
            out = {k: change(v) for k, v in value.items()}
            if out.get("name") == pipeline.PARAM_JOB_ID and "value" in out:
                out["value"] = job
            return out
        if isinstance(value, list):
            return [change(v) for v in value]
        return _rekey(value, old, new) if isinstance(value, str) else value

    rekeyed: dict[str, Any] = change(recording)
    return rekeyed


def run_until_gate(workflow: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Advance until the controller waits (at the gate) or the workflow ends."""
    current = dict(workflow)
    while (nxt := advance(current, **kwargs)) is not None:
        current = nxt
    return current
