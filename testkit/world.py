"""An in-memory world for the Worker: fake API, stub policy, Argo played by argo_sim.

Shared by the worker tests and the lifecycle benchmark (bench/lifecycle.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from agentic_operator.cache import Key, Store
from agentic_operator.decision import Decision
from agentic_operator.kube import Kube
from agentic_operator.metrics import Metrics
from agentic_operator.worker import Outcome, Worker
from agentic_operator.workflows import WorkflowManager
from testkit import argo_sim, factories
from testkit.fake_k8s import FakeApi

T = TypeVar("T")

NOW = datetime(2026, 11, 26, 10, 5, tzinfo=UTC)


class StubPolicy:
    """Answers from a table; an Exception value is raised."""

    def __init__(self, answers: dict[str, Decision | Exception]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def evaluate(self, query: str, input: Mapping[str, Any]) -> Decision:
        self.asked.append(query)
        answer = self.answers[query]
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def close(self) -> None:
        """Nothing to release: no connection."""


async def _no_sleep(_: float) -> None:
    return None


class World:
    def __init__(self, policy: StubPolicy, *, coalesce_seconds: float = 0.0) -> None:
        self.api = FakeApi()
        self.events = self.api.events
        self.policy = policy
        self.metrics = Metrics()
        self.coalesce_seconds = coalesce_seconds
        self.monotonic = 0.0  # the worker's clock for held status writes, moved by tests
        self._loop = asyncio.new_event_loop()
        self.api.put("workflowtemplates", {"metadata": {"name": "visual-analysis-template", "namespace": "team-a"}})
        self.worker = self.fresh_worker()

    def fresh_worker(self) -> Worker:
        """A worker with empty caches filled from the API, as after an operator restart."""
        workloads, workflows = Store(), Store()
        for (plural, _, _), obj in self.api.objects.items():
            {"agentworkloads": workloads, "workflows": workflows}.get(plural, Store()).put(obj)
        return Worker(
            workloads=workloads,
            workflows=workflows,
            manager=WorkflowManager(self.api, sleep=_no_sleep),
            kube=Kube(self.api),
            policy=self.policy,
            settings=factories.SETTINGS,
            metrics=self.metrics,
            clock=lambda: NOW,
            coalesce_seconds=self.coalesce_seconds,
            monotonic=lambda: self.monotonic,
        )

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run one of the (async) worker's calls to the end, on the world's own loop."""
        return self._loop.run_until_complete(coroutine)

    def reconcile(self, key: Key = ("team-a", "demo"), worker: Worker | None = None) -> Outcome:
        """One reconcile, and the Events it posts."""
        worker = worker or self.worker
        outcome = self.run(worker.reconcile(key))
        self.run(worker.settle())
        return outcome

    def submit(self, wl: dict[str, Any]) -> None:
        self.worker.workloads.put(self.api.put("agentworkloads", wl))

    def argo_runs(self, name: str = "demo", **kwargs: Any) -> None:
        """Argo's controller advances the Workflow as far as it can; the watch delivers it."""
        wf = self.api.objects[("workflows", "team-a", name)]
        self.worker.workflows.put(self.api.put("workflows", argo_sim.run_until_gate(wf, **kwargs)))

    def argo_step(self, name: str = "demo", **kwargs: Any) -> bool:
        """One pass of Argo's controller (False when it must wait); the watch delivers it."""
        wf = self.api.objects[("workflows", "team-a", name)]
        nxt = argo_sim.advance(wf, **kwargs)
        if nxt is not None:
            self.worker.workflows.put(self.api.put("workflows", nxt))
        return nxt is not None

    def status(self, name: str = "demo") -> dict[str, Any]:
        return dict(self.api.objects[("agentworkloads", "team-a", name)].get("status") or {})
