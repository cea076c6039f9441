"""An in-memory world for the Worker: fake API, stub policy, Argo played by argo_sim.

Shared by the worker tests and the lifecycle benchmark (bench/lifecycle.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kubernetes.client.exceptions import ApiException

from agentic_operator.decision import Decision
from agentic_operator.kube import Kube
from agentic_operator.metrics import Metrics
from agentic_operator.worker import Store, Worker
from agentic_operator.workflows import WorkflowManager
from testkit import argo_sim, factories
from testkit.fake_k8s import FakeCustomObjects, FakeEvents

NOW = datetime(2026, 11, 26, 10, 5, tzinfo=UTC)


class StubPolicy:
    """Answers from a table; an Exception value is raised."""

    def __init__(self, answers: dict[str, Decision | Exception]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def evaluate(self, query: str, input: Mapping[str, Any]) -> Decision:
        self.asked.append(query)
        answer = self.answers[query]
        if isinstance(answer, Exception):
            raise answer
        return answer


class World:
    def __init__(self, policy: StubPolicy) -> None:
        self.api = FakeCustomObjects()
        self.events = FakeEvents()
        self.policy = policy
        self.metrics = Metrics()
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
            manager=WorkflowManager(self.api, ApiException, sleep=lambda _: None),
            kube=Kube(self.api, self.events, ApiException),
            policy=self.policy,
            settings=factories.SETTINGS,
            metrics=self.metrics,
            clock=lambda: NOW,
        )

    def submit(self, wl: dict[str, Any]) -> None:
        self.worker.workloads.put(self.api.put("agentworkloads", wl))

    def argo_runs(self, name: str = "demo", **kwargs: Any) -> None:
        """Argo's controller advances the Workflow as far as it can; the watch delivers it."""
        wf = self.api.objects[("workflows", "team-a", name)]
        self.worker.workflows.put(self.api.put("workflows", argo_sim.run_until_gate(wf, **kwargs)))

    def status(self, name: str = "demo") -> dict[str, Any]:
        return dict(self.api.objects[("agentworkloads", "team-a", name)].get("status") or {})
