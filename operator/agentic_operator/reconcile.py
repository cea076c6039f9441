"""The reconcile core: (workload, observed Workflow, observations, now) -> a Plan.

A pure function, so every transition of the lifecycle is a table test::

    (new) --invalid / admission denied--> Rejected
      | admitted, template found: create Workflow
      v
    Pending --Argo runs--> Running --gate reached--> gate policy
                              ^                        | allow: resume (decision=approved)
                              +------------------------+
                              |                        | deny: AwaitingApproval
                              +-- human approves ------+--- human rejects / timeout --> Rejected
    Running --Argo Succeeded--> Succeeded    Running --Argo Failed/Error--> Failed

When an answer from the outside world is missing (a policy decision, whether the
template exists, a fresh read of a Workflow the cache does not show), the Plan lists it
in ``needs``; the runtime fetches it and calls again. Actions are carried out before the
status is written, and each action is idempotent, so a crash anywhere repeats at most
an action that then has nothing to do: Argo's objects are the record of what was done.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from agentic_contract import pipeline
from agentic_operator import api, argo, checks
from agentic_operator import status as st
from agentic_operator.decision import ADMISSION, GATE, Decision, PolicyUnavailable
from agentic_operator.settings import Settings
from agentic_operator.timestamps import format_time, parse_time

log = logging.getLogger(__name__)

NEED_TEMPLATE = "template"
NEED_WORKFLOW = "workflow"
GATE_REACHED = "gateReachedAt"  # status: when this operator first saw the gate waiting

TEMPLATE_RETRY = 30.0  # seconds: a missing template usually arrives with the next `pulumi up`
DEADLINE_MARGIN = 30  # seconds before the Workflow's own deadline that a waiting gate is rejected
_GATE_STAGES = ("gate", "human", "timeout")  # decision stages that settle the gate


@dataclass(frozen=True)
class Observations:
    """Answers the runtime fetched because an earlier Plan needed them."""

    decisions: Mapping[str, Decision | PolicyUnavailable] = field(default_factory=dict)
    template_exists: bool | None = None
    workflow_confirmed: bool = False  # the Workflow (or its absence) came from a fresh read


@dataclass(frozen=True)
class CreateWorkflow:
    body: dict[str, Any]


@dataclass(frozen=True)
class ResumeGate:
    namespace: str
    name: str
    outputs: dict[str, str]
    message: str


@dataclass(frozen=True)
class StopWorkflow:
    namespace: str
    name: str


Action = CreateWorkflow | ResumeGate | StopWorkflow


@dataclass(frozen=True)
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str


@dataclass(frozen=True)
class Plan:
    """What to do, and the status to write once it is done."""

    status: dict[str, Any]
    actions: tuple[Action, ...] = ()
    events: tuple[Event, ...] = ()
    needs: Mapping[str, Any] = field(default_factory=dict)  # query -> policy input, or NEED_*
    requeue_after: float | None = None  # reconcile again after this long (timeouts)
    backoff: bool = False  # something was unavailable: retry with the runtime's backoff
    recorded: tuple[dict[str, Any], ...] = ()  # decisions recorded by this plan
    gate_wait: float | None = None  # seconds the gate waited, when this plan decided it


# ---------------------------------------------------------------------------------------
# Policy inputs (documented in agentic_operator.decision).


def _settings_input(workload: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    return {
        "defaultAgentImage": settings.default_agent_image,
        "defaultBucket": settings.default_bucket,
        "namespace": workload["metadata"].get("namespace", ""),
    }


def _workload_input(workload: Mapping[str, Any], spec: api.WorkloadSpec) -> dict[str, Any]:
    return {
        "apiVersion": workload.get("apiVersion", api.API_VERSION),
        "kind": workload.get("kind", api.KIND),
        "metadata": {k: workload["metadata"].get(k) for k in ("name", "namespace", "labels", "annotations")},
        "spec": copy.deepcopy(dict(spec.defaulted)),
    }


def admission_input(workload: Mapping[str, Any], spec: api.WorkloadSpec, settings: Settings) -> dict[str, Any]:
    return {"workload": _workload_input(workload, spec), "settings": _settings_input(workload, settings)}


def gate_input(
    workload: Mapping[str, Any], spec: api.WorkloadSpec, status: argo.WorkflowStatus, settings: Settings
) -> dict[str, Any]:
    return {
        **admission_input(workload, spec, settings),
        "threshold": spec.threshold,
        "progress": {
            "progress": status.progress,
            "total": status.nodes_total,
            "succeeded": status.nodes_succeeded,
            "failed": status.nodes_failed,
        },
        "outputs": {step: dict(values) for step, values in status.step_outputs.items()},
    }


# ---------------------------------------------------------------------------------------


@dataclass
class _Draft:
    """The plan under construction (mutable, local to one reconcile)."""

    status: dict[str, Any]
    now: datetime
    generation: int
    actions: list[Action] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    recorded: list[dict[str, Any]] = field(default_factory=list)
    needs: dict[str, Any] = field(default_factory=dict)
    requeue_after: float | None = None
    backoff: bool = False
    gate_wait: float | None = None

    def condition(self, type_: str, value: bool | None, reason: str, message: str) -> None:
        st.set_condition(self.status, type_, value, reason, message, now=self.now, generation=self.generation)

    def phase(self, phase: str, message: str, *, warning: bool = False) -> None:
        """Move to a phase; an Event marks each transition, Ready follows the phase."""
        if self.status.get("phase") != phase:
            self.events.append(Event("Warning" if warning else "Normal", phase, message))
            if phase in api.TERMINAL_PHASES:
                self.status["finishedAt"] = format_time(self.now)
        self.status["phase"] = phase
        self.status["message"] = message
        if phase == "Succeeded":
            self.condition(st.READY, True, "Succeeded", message)
        else:
            self.condition(st.READY, False, phase, message)

    def record(self, stage: str, decision: Decision) -> None:
        self.recorded.append(st.record(self.status, stage, decision, now=self.now))

    def plan(self) -> Plan:
        return Plan(
            status=self.status,
            actions=tuple(self.actions),
            events=tuple(self.events),
            needs=dict(self.needs),
            requeue_after=self.requeue_after,
            backoff=self.backoff,
            recorded=tuple(self.recorded),
            gate_wait=self.gate_wait,
        )


def _human(workload: Mapping[str, Any]) -> tuple[Decision | None, str | None]:
    """A human's decision from annotations, or an error naming the bad annotation.

    Read exactly as the platform's admission policy (components/approval.py) lets them be
    written: the value is ``approved`` or ``rejected`` as is, and ``approval-by`` is the
    username the API server checked it against, so it is what the decision records.
    """
    annotations = workload["metadata"].get("annotations") or {}
    value = str(annotations.get(api.APPROVAL, ""))
    if not value:
        return None, None
    if value not in (pipeline.APPROVED, pipeline.REJECTED):
        return None, f"annotation {api.APPROVAL}: {value!r} is not {pipeline.APPROVED} or {pipeline.REJECTED}"
    actor = str(annotations.get(api.APPROVAL_BY) or "")
    if not actor:
        return None, f"annotation {api.APPROVAL_BY} is missing: it must be the approver's username"
    reason = str(annotations.get(api.APPROVAL_REASON) or f"{value} by {actor}")
    return Decision(value == pipeline.APPROVED, (reason,), api.human_source(actor)), None


def reconcile(
    workload: Mapping[str, Any],
    workflow: Mapping[str, Any] | None,
    *,
    now: datetime,
    settings: Settings,
    observed: Observations | None = None,
) -> Plan:
    """The next step for one AgentWorkload. Never raises, whatever the workload holds.

    A workload that cannot be parsed is Rejected with a condition naming each bad field
    (once: a Rejected workload's status does not change again). Anything else that goes
    wrong in here is a bug: it is reported on the workload (``Ready`` Unknown, reason
    ``ReconcileError``, with the exception) and retried with backoff, so no key is retried
    forever in silence.
    """
    try:
        return _reconcile(workload, workflow, now=now, settings=settings, observed=observed or Observations())
    except Exception as exc:  # the guard: a bug must not leave the workload without a status
        log.exception("reconcile failed: a bug in the operator")
        return _failed(workload, now, exc)


def _readable(workload: Any) -> dict[str, Any]:
    """The workload with metadata and status in the shapes the code below reads: metadata a
    map (its own problems are validate()'s to name), the status fields of the schema's
    shape only (the operator rewrites the rest)."""
    obj = dict(workload) if isinstance(workload, Mapping) else {}
    meta = obj.get("metadata")
    meta = dict(meta) if isinstance(meta, Mapping) else {}
    for key in ("labels", "annotations"):
        if not isinstance(meta.get(key), Mapping):
            meta.pop(key, None)
    if not checks.is_integer(meta.get("generation")):  # true is no generation (bool is an int in Python)
        meta.pop("generation", None)
    return {**obj, "metadata": meta, "status": api.readable_status(obj.get("status"))}


def _summary(errors: list[str], most: int = 10) -> str:
    """The errors for a message of bounded size."""
    shown = "; ".join(errors[:most])
    return shown if len(errors) <= most else f"{shown}; and {len(errors) - most} more"


def _reconcile(
    original: Mapping[str, Any],
    workflow: Mapping[str, Any] | None,
    *,
    now: datetime,
    settings: Settings,
    observed: Observations,
) -> Plan:
    workload = _readable(original)
    draft = _Draft(
        status=copy.deepcopy(workload["status"]), now=now, generation=workload["metadata"].get("generation") or 0
    )
    draft.status["observedGeneration"] = draft.generation
    phase = draft.status.get("phase")

    try:
        spec = api.parse(original)  # once: every step below reads this typed, defaulted spec
    except api.InvalidWorkload as invalid:
        if phase not in api.TERMINAL_PHASES:
            message = _summary(invalid.errors)
            draft.condition(st.ADMITTED, False, "InvalidSpec", message)
            draft.phase("Rejected", f"invalid spec: {message}", warning=True)
        _follow(draft, workload, workflow, settings, stop_if_running=True)
        return draft.plan()

    human, human_error = _human(workload)
    if human and not human.allowed and phase not in api.TERMINAL_PHASES:
        draft.record("human", human)
        draft.condition(st.APPROVED, False, "HumanRejected", human.reasons[0])
        draft.phase("Rejected", f"rejected by {human.source}: {human.reasons[0]}", warning=True)
        _follow(draft, workload, workflow, settings, stop_if_running=True)
        return draft.plan()

    if workflow is None:
        _without_workflow(draft, workload, spec, settings, observed)
    else:
        _with_workflow(draft, workload, spec, workflow, settings, observed, human)
    if human_error:
        _report_bad_approval(draft, human_error, before=st.condition(workload["status"], st.APPROVED))
    return draft.plan()


RECONCILE_ERROR = "ReconcileError"


def _failed(workload: Mapping[str, Any], now: datetime, exc: Exception) -> Plan:
    """The plan for a reconcile that raised: say so on the workload, retry with backoff.

    The status is otherwise left as it was; an Event only when the error is new."""
    try:
        readable = _readable(workload)
    except Exception:  # even reading it failed: a status of this condition alone
        readable = {"metadata": {}, "status": {}}
    draft = _Draft(status=readable["status"], now=now, generation=readable["metadata"].get("generation") or 0)
    message = f"the operator could not reconcile this workload and retries: {type(exc).__name__}: {exc}"[:1024]
    before = st.condition(draft.status, st.READY) or {}
    if (before.get("reason"), before.get("message")) != (RECONCILE_ERROR, message):
        draft.events.append(Event("Warning", RECONCILE_ERROR, message))
    draft.condition(st.READY, None, RECONCILE_ERROR, message)
    draft.backoff = True
    return draft.plan()


def _report_bad_approval(draft: _Draft, error: str, *, before: Mapping[str, Any] | None) -> None:
    """Say so while a decision is still open; an Event only when the error is new."""
    approved = st.condition(draft.status, st.APPROVED) or {}
    if draft.status.get("phase") in api.TERMINAL_PHASES or approved.get("status") == "True":
        return
    if (before or {}).get("message") != error:
        draft.events.append(Event("Warning", "InvalidApproval", error))
    draft.condition(st.APPROVED, None, "InvalidApproval", error)


def _without_workflow(
    draft: _Draft, workload: Mapping[str, Any], spec: api.WorkloadSpec, settings: Settings, observed: Observations
) -> None:
    status = draft.status
    if status.get("phase") in api.TERMINAL_PHASES:
        return
    if status.get("argoWorkflow"):
        # We created it before; the cache may lag, or someone deleted it. Ask the API.
        if not observed.workflow_confirmed:
            draft.needs[NEED_WORKFLOW] = True
            return
        wf = status["argoWorkflow"]
        draft.phase("Failed", f"Workflow {wf.get('namespace')}/{wf.get('name')} was deleted", warning=True)
        return

    admitted = st.condition(status, st.ADMITTED)
    if not (admitted and admitted.get("status") == "True"):
        decision = observed.decisions.get(ADMISSION)
        if decision is None:
            draft.needs[ADMISSION] = admission_input(workload, spec, settings)
            return
        if isinstance(decision, PolicyUnavailable):
            draft.condition(st.ADMITTED, None, "PolicyUnavailable", f"no admission decision yet: {decision}")
            draft.phase("Pending", "waiting for the admission policy")
            draft.backoff = True
            return
        draft.record("admission", decision)
        if not decision.allowed:
            reasons = "; ".join(decision.reasons) or "denied"
            draft.condition(st.ADMITTED, False, "PolicyDenied", reasons)
            draft.phase("Rejected", f"admission denied: {reasons}", warning=True)
            return
        draft.condition(st.ADMITTED, True, "PolicyAllowed", "; ".join(decision.reasons) or "allowed")

    if observed.template_exists is None:
        draft.needs[NEED_TEMPLATE] = spec.template
        return
    namespace = workload["metadata"]["namespace"]
    if not observed.template_exists:
        message = (
            f"WorkflowTemplate {spec.template!r} not found in namespace {namespace!r} (spec.workflowTemplateRef.name)"
        )
        draft.condition(st.WORKFLOW_CREATED, False, "TemplateNotFound", message)
        draft.phase("Pending", message, warning=True)
        draft.requeue_after = TEMPLATE_RETRY
        return
    body = argo.build_workflow(workload, spec, settings)
    draft.actions.append(CreateWorkflow(body))
    status["argoWorkflow"] = {"name": body["metadata"]["name"], "namespace": namespace}
    draft.condition(st.WORKFLOW_CREATED, True, "Created", f"Workflow {namespace}/{body['metadata']['name']} created")
    draft.phase("Pending", "Workflow created; waiting for Argo to start it")


def _follow(
    draft: _Draft,
    workload: Mapping[str, Any],
    workflow: Mapping[str, Any] | None,
    settings: Settings,
    *,
    stop_if_running: bool = False,
) -> argo.WorkflowStatus | None:
    """Mirror Argo's view of the Workflow into the status; stop it if asked and running."""
    if workflow is None or not argo.is_owned_by(workflow, workload):
        return None
    wf = argo.workflow_status(workflow, default_bucket=settings.default_bucket)
    meta = workflow.get("metadata") or {}
    status = draft.status
    status["argoWorkflow"] = {
        k: v
        for k, v in {"name": meta.get("name"), "namespace": meta.get("namespace"), "uid": meta.get("uid")}.items()
        if v
    }
    status["argoPhase"] = wf.phase
    status["suspended"] = wf.suspended
    for key, value in (("progress", wf.progress), ("currentStep", wf.current_step), ("startedAt", wf.started_at)):
        if value:
            status[key] = value
        else:
            status.pop(key, None)
    if wf.artifacts:
        status["workflowArtifacts"] = dict(wf.artifacts)
    if stop_if_running and not wf.completed and not wf.shutdown:
        draft.actions.append(StopWorkflow(meta.get("namespace", ""), meta.get("name", "")))
    return wf


def _with_workflow(
    draft: _Draft,
    workload: Mapping[str, Any],
    spec: api.WorkloadSpec,
    workflow: Mapping[str, Any],
    settings: Settings,
    observed: Observations,
    human: Decision | None,
) -> None:
    status = draft.status
    phase = status.get("phase")
    wf = _follow(draft, workload, workflow, settings, stop_if_running=phase == "Rejected")
    if wf is None:
        if not observed.workflow_confirmed:  # the cache may hold a Workflow long deleted
            draft.needs[NEED_WORKFLOW] = True
            return
        name = (workflow.get("metadata") or {}).get("name")
        if argo.is_owned_by_namesake(workflow, workload):  # the garbage collector removes it
            draft.phase("Pending", f"waiting for the previous Workflow {name} to be deleted")
            draft.requeue_after = TEMPLATE_RETRY
            return
        message = f"Workflow {name} exists and belongs to something else: choose another spec.jobId"
        draft.condition(st.WORKFLOW_CREATED, False, "NameConflict", message)
        draft.phase("Failed", message, warning=True)
        return
    if phase in api.TERMINAL_PHASES:
        return
    _recover_gate_decision(draft, wf)
    if wf.shutdown:
        # Only a rejection stops a Workflow of ours; if its status write was lost (or
        # someone ran `argo stop`), the Workflow itself says what happened.
        message = f"the Workflow was stopped (spec.shutdown: {wf.shutdown})"
        draft.condition(st.APPROVED, False, "Stopped", message)
        draft.phase("Rejected", message, warning=True)
        return
    if wf.completed:
        if wf.phase == "Succeeded":
            draft.phase("Succeeded", "Workflow succeeded")
        else:
            why = wf.message or "; ".join(f"{step}: {message}" for step, message in sorted(wf.failures.items()))
            draft.phase("Failed", f"Workflow {wf.phase}: {why or 'no message'}", warning=True)
        if wf.finished_at:
            status["finishedAt"] = wf.finished_at
        return
    node = next((n for n in wf.suspend_nodes if n.display_name == pipeline.STEP_GATE), None)
    if node is not None:
        _at_gate(draft, _gate(draft, workload, spec, workflow, wf, settings), observed, human)
    elif wf.phase in ("", "Pending"):
        draft.phase("Pending", wf.message or "waiting for Argo to start the Workflow")
    else:
        draft.phase("Running", f"running {wf.current_step}" if wf.current_step else "running")
    if wf.nodes_error:
        status["message"] = f"{status['message']} ({wf.nodes_error})"


def _recover_gate_decision(draft: _Draft, wf: argo.WorkflowStatus) -> None:
    """Record a gate decision that Argo holds but the status lacks.

    The resume is carried out before the status is written; if the operator stopped in
    between, the gate's supplied outputs are the record of who decided and why.
    """
    outputs = wf.step_outputs.get(pipeline.STEP_GATE)
    if not outputs or st.decisions(draft.status, *_GATE_STAGES):
        return
    source = outputs.get(pipeline.GATE_DECIDED_BY, "unknown")
    decision = Decision(
        outputs.get(pipeline.GATE_DECISION) == pipeline.APPROVED, (outputs.get(pipeline.GATE_REASON, ""),), source
    )
    draft.record("human" if api.is_human_source(source) else "gate", decision)
    if decision.allowed:
        draft.condition(st.APPROVED, True, "Approved", decision.reasons[0] or pipeline.APPROVED)


# ---------------------------------------------------------------------------------------
# The approval gate.


@dataclass(frozen=True)
class _Gate:
    """The waiting gate as this reconcile sees it: whose, since when, until when."""

    namespace: str  # the Workflow's
    name: str
    started: datetime  # status.gateReachedAt: a restarted operator does not reset it
    deadline: datetime
    timeout_reason: str
    approve_hint: str
    policy_input: Mapping[str, Any]


def _gate(
    draft: _Draft,
    workload: Mapping[str, Any],
    spec: api.WorkloadSpec,
    workflow: Mapping[str, Any],
    wf: argo.WorkflowStatus,
    settings: Settings,
) -> _Gate:
    """The gate's deadline is ``approvalSeconds`` after it was reached, or
    ``DEADLINE_MARGIN`` before the Workflow's own ``activeDeadlineSeconds`` runs out,
    whichever comes first: Argo fails a waiting gate at its deadline, and rejecting a
    little before makes the outcome a clear Rejected, not a Failed.

    Both are measured on the operator's clock alone: from when it first saw the gate
    waiting (``status.gateReachedAt``, recorded then, so a restart keeps it) and from when
    it created the Workflow (the ``WorkflowCreated`` condition's time; Argo's deadline runs
    from the Workflow's start, which is no earlier). Argo's own timestamps come from the
    controller's clock, and a skew between the two would reject on first sight or never."""
    started = parse_time(draft.status.get(GATE_REACHED))
    if started is None:
        started = draft.now
        draft.status[GATE_REACHED] = format_time(started)
    deadline = started + timedelta(seconds=spec.approval_seconds)
    why = f"no decision within timeouts.approvalSeconds ({spec.approval_seconds}s) of reaching the gate"
    created = st.condition(draft.status, st.WORKFLOW_CREATED) or {}
    created_at = parse_time(created.get("lastTransitionTime")) if created.get("status") == "True" else None
    if created_at is not None:
        argo_deadline = created_at + timedelta(seconds=spec.execution_seconds - DEADLINE_MARGIN)
        if argo_deadline < deadline:
            deadline = argo_deadline
            why = (
                f"no decision before the Workflow's deadline (timeouts.executionSeconds = "
                f"{spec.execution_seconds}s from its creation) would fail it"
            )
    meta, owner = workflow["metadata"], workload["metadata"]
    return _Gate(
        namespace=meta["namespace"],
        name=meta["name"],
        started=started,
        deadline=deadline,
        timeout_reason=why,
        approve_hint=(
            f"kubectl -n {owner['namespace']} annotate aw {owner['name']} {api.APPROVAL}=approved (or =rejected)"
            f" {api.APPROVAL_BY}=<your username>"
        ),
        policy_input=gate_input(workload, spec, wf, settings),
    )


def _at_gate(draft: _Draft, gate: _Gate, observed: Observations, human: Decision | None) -> None:
    """Decide at the waiting gate. The first row that applies wins:

    ==  ==========================================================  ===============================
    #   situation                                                   outcome
    ==  ==========================================================  ===============================
    1   an approval is on record (by the policy or a human)         resume (again: idempotent),
                                                                    ``Approved``
    2   nothing on record and the gate policy not asked yet         ask it (``needs[GATE]``)
    3   the gate policy allows                                      record it, resume,
                                                                    ``PolicyApproved``
    4   the policy is unavailable and no human approved             past the deadline: as 6; else
                                                                    wait (``PolicyUnavailable``),
                                                                    with backoff
    5   a human approved (annotation; before or after the policy)   record it, resume,
                                                                    ``HumanApproved``
    6   the deadline has passed                                     record a timeout, stop the
                                                                    Workflow, ``ApprovalTimeout``
    7   otherwise: the policy deferred or denied                    wait for a human,
                                                                    ``AwaitingHuman``, requeue at
                                                                    the deadline
    ==  ==========================================================  ===============================

    The policy is asked first even when a human approved ahead of time, so its view is on
    record whatever the outcome. A human's rejection never reaches the gate:
    :func:`reconcile` rejects the workload first.
    """
    decided = st.decisions(draft.status, *_GATE_STAGES)
    latest = decided[-1] if decided else None
    if latest is not None and latest.get("allowed"):
        recorded = Decision(True, tuple(latest.get("reasons") or ()), str(latest.get("source", "")))
        _resume(draft, gate, recorded, "Approved")
        return
    if latest is None:
        policy = observed.decisions.get(GATE)
        if policy is None:
            draft.needs[GATE] = gate.policy_input
            return
        if isinstance(policy, PolicyUnavailable):
            if human is None or not human.allowed:
                _policy_unavailable(draft, gate, policy)
                return
        else:
            _decided(draft, gate, "gate", policy)
            if policy.allowed:
                _resume(draft, gate, policy, "PolicyApproved")
                return
    if human is not None and human.allowed:
        _decided(draft, gate, "human", human)
        _resume(draft, gate, human, "HumanApproved")
    elif draft.now >= gate.deadline:
        _time_out(draft, gate)
    else:
        reasons = "; ".join(str(r) for r in (latest or draft.recorded[-1]).get("reasons") or ()) or "policy deferred"
        _wait(draft, gate, "AwaitingHuman", f"a human must decide ({reasons})")


def _decided(draft: _Draft, gate: _Gate, stage: str, decision: Decision) -> None:
    """Record a decision taken at this gate, and how long the gate waited for it."""
    draft.record(stage, decision)
    draft.gate_wait = max(0.0, (draft.now - gate.started).total_seconds())


def _resume(draft: _Draft, gate: _Gate, decision: Decision, condition_reason: str) -> None:
    """Resume the gate with the decision in its supplied outputs (the record of who and why)."""
    reason = "; ".join(decision.reasons) or pipeline.APPROVED
    outputs = {
        pipeline.GATE_DECISION: pipeline.APPROVED,
        pipeline.GATE_DECIDED_BY: decision.source,
        pipeline.GATE_REASON: reason,
    }
    draft.actions.append(ResumeGate(gate.namespace, gate.name, outputs, f"approved by {decision.source}"))
    draft.condition(st.APPROVED, True, condition_reason, reason)
    draft.phase("Running", f"approved by {decision.source}; resuming")


def _time_out(draft: _Draft, gate: _Gate) -> None:
    """Nobody decided in time: Rejected, and the Workflow stopped so synthesis never runs."""
    _decided(draft, gate, "timeout", Decision(False, (gate.timeout_reason,), "operator"))
    draft.condition(st.APPROVED, False, "ApprovalTimeout", gate.timeout_reason)
    draft.phase("Rejected", f"approval timed out: {gate.timeout_reason}", warning=True)
    draft.actions.append(StopWorkflow(gate.namespace, gate.name))


def _wait(draft: _Draft, gate: _Gate, reason: str, message: str) -> None:
    """AwaitingApproval, saying how to approve; reconcile again at the deadline."""
    draft.condition(st.APPROVED, None, reason, message)
    draft.phase("AwaitingApproval", f"{message}: {gate.approve_hint}")
    draft.requeue_after = (gate.deadline - draft.now).total_seconds()


def _policy_unavailable(draft: _Draft, gate: _Gate, unavailable: PolicyUnavailable) -> None:
    """No gate policy answer: fail closed (wait, with backoff) until the deadline."""
    if draft.now >= gate.deadline:
        _time_out(draft, gate)
    else:
        _wait(draft, gate, "PolicyUnavailable", f"gate policy unavailable ({unavailable}); a human may decide")
        draft.backoff = True
