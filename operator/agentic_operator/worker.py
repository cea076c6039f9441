"""Carries out the reconcile core's plans against the API: one workload key at a time.

Reads come from :class:`Store`, the cache the watches keep (so a reconcile of an
unchanged world sends no request at all); the API is read only when a plan needs an
answer the cache cannot give. Actions run before the status is written, then Events are
posted. Runs in a worker thread: the ``kubernetes`` client is synchronous.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agentic_contract import pipeline
from agentic_operator import api, argo
from agentic_operator import reconcile as core
from agentic_operator import status as st
from agentic_operator.decision import Decision, Policy, PolicyUnavailable
from agentic_operator.kube import Kube
from agentic_operator.metrics import Metrics
from agentic_operator.settings import Settings
from agentic_operator.workflows import (
    TemplateNotFoundError,
    WorkflowConflictError,
    WorkflowManager,
    WorkflowNotFoundError,
)

log = logging.getLogger(__name__)

Key = tuple[str, str]  # namespace, name
MAX_PASSES = 4  # a plan needs at most: admission, template, then nothing (or a fresh read)


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def key_of(obj: Mapping[str, Any]) -> Key:
    meta = _metadata(obj)
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


def _version(obj: Mapping[str, Any]) -> int | None:
    value = _metadata(obj).get("resourceVersion")
    return int(value) if isinstance(value, str) and value.isdigit() else None


class Store:
    """The newest copy of each object the watches (or our own writes) have shown.

    Our writes are stored as soon as the API answers them, so the next reconcile reads
    its own writes even before the watch echoes them; a watch event older than what is
    stored does not roll the cache back. Kubernetes calls resourceVersion opaque; watch
    events arrive in order, so the only race is our write against an event already in
    flight, and only integer versions (etcd revisions, kine's ids) are compared: any
    other form falls back to "newest arrival wins".
    Ref: https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions
    """

    def __init__(self) -> None:
        self._objects: dict[Key, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def put(self, obj: Mapping[str, Any]) -> None:
        key = key_of(obj)
        with self._lock:
            old = self._objects.get(key)
            new_v, old_v = _version(obj), _version(old) if old else None
            if old is None or new_v is None or old_v is None or new_v >= old_v:
                self._objects[key] = dict(obj)

    def delete(self, key: Key) -> None:
        with self._lock:
            self._objects.pop(key, None)

    def get(self, key: Key) -> dict[str, Any] | None:
        with self._lock:
            return self._objects.get(key)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        with self._lock:
            return iter(list(self._objects.values()))

    def __len__(self) -> int:
        return len(self._objects)


def owner_key(workflow: Mapping[str, Any]) -> Key | None:
    """The AgentWorkload a Workflow belongs to (its controller owner reference)."""
    namespace = str((workflow.get("metadata") or {}).get("namespace", ""))
    for ref in argo.owner_references(workflow):
        if ref.get("kind") == api.KIND and str(ref.get("apiVersion", "")).startswith(f"{api.GROUP}/"):
            return namespace, str(ref.get("name", ""))
    return None


def workflow_name(workload: Mapping[str, Any]) -> str:
    """The name of the workload's Workflow: what the status recorded, else its job id."""
    recorded = api.readable_status(workload.get("status")).get("argoWorkflow", {}).get("name")
    return str(recorded or api.job_id(workload))


@dataclass(frozen=True)
class Outcome:
    requeue_after: float | None = None
    backoff: bool = False


class Worker:
    def __init__(
        self,
        *,
        workloads: Store,
        workflows: Store,
        manager: WorkflowManager,
        kube: Kube,
        policy: Policy,
        settings: Settings,
        metrics: Metrics,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.workloads, self.workflows = workloads, workflows
        self._manager, self._kube, self._policy = manager, kube, policy
        self._settings, self._metrics, self._clock = settings, metrics, clock

    def reconcile(self, key: Key) -> Outcome:
        """Bring one workload a step further. Raises only for errors worth a retry.

        When an action returns the Workflow it changed (created, resumed, stopped), the
        core plans once more with that object, so the one status write that follows
        already mirrors it (uid, suspended, phase) instead of costing a second write when
        the watch echoes the change.
        """
        workload = self.workloads.get(key)
        if workload is None:
            return Outcome()  # deleted: its Workflow goes with it (owner reference)
        name = workflow_name(workload)
        workflow = self.workflows.get((key[0], name))
        view: Mapping[str, Any] = workload
        events: list[core.Event] = []
        recorded: list[dict[str, Any]] = []
        gate_wait: float | None = None
        observed = core.Observations()
        for _ in range(MAX_PASSES):
            plan, observed, workflow = self._plan(view, workflow, observed, key[0], name)
            try:
                changed = self._carry_out(plan.actions, view, key[0], name)
            except WorkflowNotFoundError:
                # The cache held a Workflow the API no longer has (its DELETED event lost
                # across a watch re-list): plan again knowing it is gone.
                self.workflows.delete((key[0], name))
                workflow = None
                observed = core.Observations(observed.decisions, observed.template_exists, workflow_confirmed=True)
                continue
            events += plan.events
            recorded += plan.recorded
            gate_wait = plan.gate_wait if plan.gate_wait is not None else gate_wait
            if changed is None:
                break
            view, workflow = {**workload, "status": plan.status}, changed
            observed = core.Observations(workflow_confirmed=True)
        self._write(workload, plan.status, events, recorded, gate_wait)
        return Outcome(plan.requeue_after, plan.backoff)

    def _plan(
        self,
        workload: Mapping[str, Any],
        workflow: dict[str, Any] | None,
        observed: core.Observations,
        namespace: str,
        name: str,
    ) -> tuple[core.Plan, core.Observations, dict[str, Any] | None]:
        """Plan, fetching what the plan needs, until it needs nothing more."""
        for _ in range(MAX_PASSES):
            plan = core.reconcile(workload, workflow, now=self._clock(), settings=self._settings, observed=observed)
            if not plan.needs:
                return plan, observed, workflow
            observed, workflow = self._observe(plan.needs, observed, workflow, namespace, name)
        raise RuntimeError(f"reconcile of {namespace}/{name} still needs {sorted(plan.needs)}")

    def _observe(
        self,
        needs: Mapping[str, Any],
        observed: core.Observations,
        workflow: dict[str, Any] | None,
        namespace: str,
        name: str,
    ) -> tuple[core.Observations, dict[str, Any] | None]:
        decisions: dict[str, Decision | PolicyUnavailable] = dict(observed.decisions)
        template_exists, confirmed = observed.template_exists, observed.workflow_confirmed
        for need, value in needs.items():
            if need == core.NEED_TEMPLATE:
                try:
                    self._manager.check_template(namespace, str(value))
                    template_exists = True
                except TemplateNotFoundError:
                    template_exists = False
            elif need == core.NEED_WORKFLOW:
                workflow, confirmed = self._manager.get(namespace, name), True
                if workflow is not None:
                    self.workflows.put(workflow)
                else:  # a DELETED event missed across a watch re-list
                    self.workflows.delete((namespace, name))
            else:
                decisions[need] = self._decide(need, value)
        return core.Observations(decisions, template_exists, confirmed), workflow

    def _decide(self, query: str, input: Mapping[str, Any]) -> Decision | PolicyUnavailable:
        """Ask the policy; anything short of a decision fails closed as 'not yet'."""
        try:
            return self._policy.evaluate(query, input)
        except PolicyUnavailable as exc:
            unavailable = exc
        except Exception as exc:
            log.exception("policy %s failed", query)
            unavailable = PolicyUnavailable(f"{type(exc).__name__}: {exc}")
        self._metrics.policy_unavailable.labels(query).inc()
        return unavailable

    def _carry_out(
        self, actions: tuple[core.Action, ...], workload: Mapping[str, Any], namespace: str, name: str
    ) -> dict[str, Any] | None:
        """Carry out the actions; the Workflow as the last one that changed it left it."""
        changed = None
        for action in actions:
            if isinstance(action, core.CreateWorkflow):
                try:
                    changed = self._manager.create(workload, action.body)
                except WorkflowConflictError as exc:
                    if exc.transient:
                        raise
                    changed = self._manager.get(namespace, name)  # not ours: the core says so
            elif isinstance(action, core.ResumeGate):
                changed = (
                    self._manager.resume(
                        action.namespace,
                        action.name,
                        node_selector=f"displayName={pipeline.STEP_GATE}",
                        outputs=action.outputs,
                        message=action.message,
                    )
                    or changed
                )
            elif isinstance(action, core.StopWorkflow):
                changed = self._manager.stop(action.namespace, action.name) or changed
        if changed is not None:
            self.workflows.put(changed)
        return changed

    def _write(
        self,
        workload: Mapping[str, Any],
        status: dict[str, Any],
        events: list[core.Event],
        recorded: list[dict[str, Any]],
        gate_wait: float | None,
    ) -> None:
        namespace, name = key_of(workload)
        old = workload.get("status")
        patch = st.merge_patch(old if isinstance(old, Mapping) else {}, status)  # a status of another shape is replaced
        if patch:
            updated = self._kube.patch_status(namespace, name, patch)
            if updated is None:  # gone, though the cache had it: forget it
                self.workloads.delete((namespace, name))
                return
            self.workloads.put(updated)
        for event in events:
            self._kube.post_event(workload, event.type, event.reason, event.message)
        for decision in recorded:
            self._metrics.decisions.labels(decision["stage"], str(decision["allowed"]).lower()).inc()
        if gate_wait is not None:
            self._metrics.gate_wait.observe(gate_wait)
