"""Carries out the reconcile core's plans against the API: one workload key at a time.

Reads come from the watch caches (:class:`~agentic_operator.cache.Store`), so a reconcile
of an unchanged world sends no request at all; the API is read only when a plan needs an
answer the cache cannot give. Actions run before the status is written, then Events are
posted in the background. Everything is a coroutine on the operator's one event loop, the
policy query included.

Status writes that carry no phase transition (Argo's progress, the current step, a
decision recorded while the phase stays Running) are coalesced per workload: the first
is held for ``coalesce_seconds`` and the newest status is written then, or at once with
the next phase transition, which is never delayed. The status held meanwhile is the base
of the next plan, so nothing is decided twice; were the operator to stop in between, the
held facts are Argo's (its progress, the gate's supplied outputs) and are read back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agentic_contract import pipeline
from agentic_operator import api, argo
from agentic_operator import reconcile as core
from agentic_operator import status as st
from agentic_operator.cache import Key, Store, compact_workflow, compact_workload, key_of
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

MAX_PASSES = 4  # a plan needs at most: admission, template, then nothing (or a fresh read)
TEMPLATE_TTL = 60.0  # seconds a WorkflowTemplate found is taken to be there
EVENT_SLOTS = 4  # Events posted at once


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


@dataclass(frozen=True)
class _Held:
    """A status not written yet: what to write, over which written status, since when."""

    status: dict[str, Any]
    over: Mapping[str, Any]
    since: float


def _sooner(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


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
        coalesce_seconds: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.workloads, self.workflows = workloads, workflows
        self._manager, self._kube, self._policy = manager, kube, policy
        self._settings, self._metrics, self._clock = settings, metrics, clock
        self._coalesce, self._monotonic = coalesce_seconds, monotonic
        self._held: dict[Key, _Held] = {}
        self._templates: dict[tuple[str, str], float] = {}  # (namespace, name) -> until when it exists
        self._posting: set[asyncio.Task[None]] = set()
        self._event_slots = asyncio.Semaphore(EVENT_SLOTS)

    def _base(self, key: Key, workload: Mapping[str, Any]) -> Mapping[str, Any]:
        """The workload as the next plan starts from it: with the status held, if any."""
        held = self._held.get(key)
        if held is None:
            return workload
        if held.over != (workload.get("status") or {}):  # someone else wrote the status
            del self._held[key]
            return workload
        return {**workload, "status": held.status}

    async def reconcile(self, key: Key) -> Outcome:
        """Bring one workload a step further. Raises only for errors worth a retry.

        When an action returns the Workflow it changed (created, resumed, stopped), the
        core plans once more with that object, so the one status write that follows
        already mirrors it (uid, suspended, phase) instead of costing a second write when
        the watch echoes the change.
        """
        workload = self.workloads.get(key)
        if workload is None:
            self._held.pop(key, None)
            return Outcome()  # deleted: its Workflow goes with it (owner reference)
        base = self._base(key, workload)
        name = workflow_name(base)
        workflow = self.workflows.get((key[0], name))
        view: Mapping[str, Any] = base
        events: list[core.Event] = []
        recorded: list[dict[str, Any]] = []
        gate_wait: float | None = None
        observed = core.Observations()
        for _ in range(MAX_PASSES):
            plan, observed, workflow = await self._plan(view, workflow, observed, key[0], name)
            try:
                changed = await self._carry_out(plan.actions, view, key[0], name)
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
            view, workflow = {**base, "status": plan.status}, changed
            observed = core.Observations(workflow_confirmed=True)
        self._count(recorded, gate_wait)
        later = await self._write(workload, plan.status, events)
        return Outcome(_sooner(plan.requeue_after, later), plan.backoff)

    async def _plan(
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
            observed, workflow = await self._observe(plan.needs, observed, workflow, namespace, name)
        raise RuntimeError(f"reconcile of {namespace}/{name} still needs {sorted(plan.needs)}")

    async def _observe(
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
                template_exists = await self._template_exists(namespace, str(value))
            elif need == core.NEED_WORKFLOW:
                workflow, confirmed = await self._manager.get(namespace, name), True
                if workflow is not None:
                    self.workflows.put(compact_workflow(workflow))
                else:  # a DELETED event missed across a watch re-list
                    self.workflows.delete((namespace, name))
            else:
                decisions[need] = await self._decide(need, value)
        return core.Observations(decisions, template_exists, confirmed), workflow

    async def _template_exists(self, namespace: str, name: str) -> bool:
        """Whether the WorkflowTemplate exists; a "yes" is remembered for ``TEMPLATE_TTL``.

        Every new workload asks, and a drain of thousands would read the same template
        thousands of times. A template deleted within the TTL costs one Workflow that
        Argo then fails, saying the template is missing (the status mirrors it)."""
        key = (namespace, name)
        if self._monotonic() < self._templates.get(key, float("-inf")):
            return True
        try:
            await self._manager.check_template(namespace, name)
        except TemplateNotFoundError:
            self._templates.pop(key, None)
            return False
        self._templates[key] = self._monotonic() + TEMPLATE_TTL
        return True

    async def _decide(self, query: str, input: Mapping[str, Any]) -> Decision | PolicyUnavailable:
        """Ask the policy; anything short of a decision fails closed as 'not yet'."""
        try:
            return await self._policy.evaluate(query, input)
        except PolicyUnavailable as exc:
            unavailable = exc
        except Exception as exc:
            log.exception("policy %s failed", query)
            unavailable = PolicyUnavailable(f"{type(exc).__name__}: {exc}")
        self._metrics.policy_unavailable.labels(query).inc()
        return unavailable

    async def _carry_out(
        self, actions: tuple[core.Action, ...], workload: Mapping[str, Any], namespace: str, name: str
    ) -> dict[str, Any] | None:
        """Carry out the actions; the Workflow as the last one that changed it left it."""
        changed = None
        for action in actions:
            if isinstance(action, core.CreateWorkflow):
                try:
                    changed = await self._manager.create(workload, action.body)
                except WorkflowConflictError as exc:
                    if exc.transient:
                        raise
                    changed = await self._manager.get(namespace, name)  # not ours: the core says so
            elif isinstance(action, core.ResumeGate):
                changed = (
                    await self._manager.resume(
                        action.namespace,
                        action.name,
                        node_selector=f"displayName={pipeline.STEP_GATE}",
                        outputs=action.outputs,
                        message=action.message,
                    )
                    or changed
                )
            elif isinstance(action, core.StopWorkflow):
                changed = await self._manager.stop(action.namespace, action.name) or changed
        if changed is not None:
            self.workflows.put(compact_workflow(changed))
        return changed

    def _count(self, recorded: list[dict[str, Any]], gate_wait: float | None) -> None:
        for decision in recorded:
            self._metrics.decisions.labels(decision["stage"], str(decision["allowed"]).lower()).inc()
        if gate_wait is not None:
            self._metrics.gate_wait.observe(gate_wait)

    async def _write(
        self, workload: Mapping[str, Any], status: dict[str, Any], events: list[core.Event]
    ) -> float | None:
        """Write the status now, or hold it (see the module docstring); seconds until a
        held status is due, else None."""
        key = key_of(workload)
        old = workload.get("status")
        written = old if isinstance(old, Mapping) else {}  # a status of another shape is replaced
        patch = st.merge_patch(written, status)
        if not patch:
            self._held.pop(key, None)
        elif not events and status.get("phase") == written.get("phase") and self._coalesce > 0:
            now = self._monotonic()
            held = self._held.get(key)
            since = held.since if held is not None else now
            if now < since + self._coalesce:
                self._held[key] = _Held(status, written, since)
                return since + self._coalesce - now
        if patch:
            self._held.pop(key, None)
            updated = await self._kube.patch_status(*key, patch)
            if updated is None:  # gone, though the cache had it: forget it
                self.workloads.delete(key)
                return None
            self.workloads.put(compact_workload(updated))
        if events:  # after the status they report; the worker need not wait for them
            task = asyncio.create_task(self._post(workload, events))
            self._posting.add(task)
            task.add_done_callback(self._posting.discard)
        return None

    async def _post(self, workload: Mapping[str, Any], events: list[core.Event]) -> None:
        async with self._event_slots:  # a few at a time: in a burst, status writes go first
            for event in events:
                await self._kube.post_event(workload, event.type, event.reason, event.message)

    async def settle(self) -> None:
        """Wait for the Events still being posted."""
        while self._posting:
            await asyncio.gather(*self._posting)
