"""A test's view of AgentWorkloads and their Workflows on the real API server.

Everything is read from and written to the API server as a user would (the admin's
client; decisions the approver's, under its own name); the pods' progress is the test's
:class:`~tests.cluster.executor.Executor`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentic_contract import pipeline
from agentic_operator import api, argo, argo_names
from tests.cluster.approvals import Identity
from tests.cluster.controlplane import ControlPlane, wait_for
from tests.cluster.executor import Executor

# Below the default auto-approve threshold (0.95): the gate policy defers to a human.
LOW_CONFIDENCE = {pipeline.STEP_DOM: {"confidence": "0.42", "elements": "24"}}
TIMEOUT = 90.0  # generous: the tier shares two cores with everything else


class Workloads:
    """``reports``: each step's output parameters, as the reference agent wrote them for
    its demo page (the ``agent_reports`` fixture runs it); a test overrides some."""

    def __init__(
        self,
        cluster: ControlPlane,
        namespace: str,
        executor: Executor,
        approver: Identity,
        reports: Mapping[str, Mapping[str, str]],
    ) -> None:
        self.cluster, self.namespace, self.executor, self.approver = cluster, namespace, executor, approver
        self.reports = reports
        self.kube = cluster.kube()

    # -- AgentWorkloads ----------------------------------------------------------------------

    def submit(self, name: str, **spec: Any) -> dict[str, Any]:
        body = {
            "apiVersion": api.API_VERSION,
            "kind": api.KIND,
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": {"targetUrls": ["https://example.com/pricing"], "objective": "List the plans and prices", **spec},
        }
        return self.kube.create(body)

    def get(self, name: str) -> dict[str, Any] | None:
        return self.kube.find(api.API_VERSION, api.KIND, name, namespace=self.namespace)

    def status(self, name: str) -> dict[str, Any]:
        return dict((self.get(name) or {}).get("status") or {})

    def wait_status(
        self, name: str, check: Callable[[dict[str, Any]], bool], *, what: str, timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        def checked() -> dict[str, Any] | None:
            status = self.status(name)
            return status if status and check(status) else None

        try:
            return _found(wait_for(checked, timeout=timeout, what=what))
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; status of {name}: {self.status(name)}") from None

    def wait_phase(self, name: str, phase: str, *, timeout: float = TIMEOUT) -> dict[str, Any]:
        return self.wait_status(name, lambda s: s.get("phase") == phase, what=f"{name} {phase}", timeout=timeout)

    def wait_condition(self, name: str, type_: str, value: str, *, timeout: float = TIMEOUT) -> dict[str, Any]:
        return self.wait_status(
            name, lambda s: condition(s, type_).get("status") == value, what=f"{name} {type_}={value}", timeout=timeout
        )

    def decide(self, name: str, value: str = pipeline.APPROVED) -> None:
        """The approver's decision, as README's ``kubectl annotate`` makes it."""
        self.approver.decide(self.namespace, name, value, f"{value} in a test")

    def delete(self, name: str) -> None:
        self.kube.delete(api.API_VERSION, api.KIND, name, namespace=self.namespace)

    def events(self, name: str) -> list[str]:
        events = self.kube.objects("v1", "Event", namespace=self.namespace)
        return [
            e["reason"]
            for e in events
            if e["involvedObject"]["name"] == name and e["involvedObject"]["kind"] == api.KIND
        ]

    # -- Workflows -------------------------------------------------------------------------

    def workflow(self, name: str) -> dict[str, Any] | None:
        return self.kube.find(argo_names.API_VERSION, "Workflow", name, namespace=self.namespace)

    def workflows(self) -> list[str]:
        listed = self.kube.objects(argo_names.API_VERSION, "Workflow", namespace=self.namespace)
        return [w["metadata"]["name"] for w in listed]

    def pods(self, name: str) -> list[str]:
        """The names of the Workflow's pods."""
        selector = f"workflows.argoproj.io/workflow={name}"
        return [
            p["metadata"]["name"]
            for p in self.kube.objects("v1", "Pod", namespace=self.namespace, label_selector=selector)
        ]

    def node(self, name: str, step: str) -> dict[str, Any] | None:
        return next(
            (n for n in argo.nodes_of(self.workflow(name) or {}).values() if n.get("displayName") == step), None
        )

    def pod_node(self, name: str, step: str) -> dict[str, Any] | None:
        """The node of the step's pod: the step's own, or its latest attempt under a Retry node."""
        node = self.node(name, step)
        if node is None or node.get("type") != "Retry" or not node.get("children"):
            return node
        return argo.nodes_of(self.workflow(name) or {}).get(node["children"][-1])

    def wait_node(
        self, name: str, step: str, phase: str, *, pod: bool = False, timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        """Argo's node of ``step`` (``pod``: of its pod, the latest attempt) in ``phase``."""

        def reached() -> dict[str, Any] | None:
            node = self.pod_node(name, step) if pod else self.node(name, step)
            return node if node is not None and node.get("phase") == phase else None

        return _found(wait_for(reached, timeout=timeout, what=f"Argo's node {name}.{step} {phase}"))

    def wait_workflow(self, name: str, check: Callable[[dict[str, Any]], bool], *, what: str) -> dict[str, Any]:
        def checked() -> dict[str, Any] | None:
            workflow = self.workflow(name)
            return workflow if workflow is not None and check(workflow) else None

        return _found(wait_for(checked, timeout=TIMEOUT, what=what))

    def gate_outputs(self, name: str) -> dict[str, str]:
        gate = self.node(name, pipeline.STEP_GATE)
        assert gate is not None and gate["phase"] == "Succeeded", gate
        return {p["name"]: p.get("value") for p in gate["outputs"]["parameters"]}

    # -- running the steps (the executor and kubelet) ------------------------------------------

    def run(self, name: str, step: str, reports: Mapping[str, Mapping[str, str]] | None = None, **kwargs: Any) -> None:
        outputs = {**self.reports, **(reports or {})}.get(step, {})
        self.executor.finish(name, step, outputs, **kwargs)
        if kwargs.get("exit_code", 0) == 0:
            self.wait_node(name, step, "Succeeded")

    def to_gate(self, name: str, reports: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
        """Run the steps before the gate; the gate node once Argo reached it (an approving
        policy may have resumed it by then)."""
        self.run(name, pipeline.STEP_SCRAPER, reports)
        self.run(name, pipeline.STEP_SCREENSHOTS, reports)
        self.run(name, pipeline.STEP_DOM, reports)
        return _found(
            wait_for(lambda: self.node(name, pipeline.STEP_GATE), timeout=TIMEOUT, what=f"Argo at {name}'s gate")
        )


@dataclass(frozen=True)
class Request:
    """One request as the API server's audit log recorded it."""

    verb: str
    resource: str  # with its subresource: "agentworkloads/status"
    namespace: str
    name: str
    code: int
    decision: str  # the authorizer's: allow or forbid

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> Request:
        ref = event.get("objectRef") or {}
        resource = "/".join(filter(None, (ref.get("resource", ""), ref.get("subresource", ""))))
        return cls(
            verb=event["verb"],
            resource=resource,
            namespace=ref.get("namespace", ""),
            name=ref.get("name", ""),
            code=int((event.get("responseStatus") or {}).get("code", 0)),
            decision=(event.get("annotations") or {}).get("authorization.k8s.io/decision", ""),
        )


def requests(cluster: ControlPlane, username: str) -> list[Request]:
    """Every request ``username`` made, as the API server recorded it."""
    return [Request.of(e) for e in cluster.audit(username)]


def _found(value: dict[str, Any] | None) -> dict[str, Any]:
    assert value is not None  # wait_for returns only what is truthy
    return value


def condition(status: Mapping[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in status.get("conditions") or [] if c.get("type") == type_), {})
