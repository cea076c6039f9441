"""Resuming a Workflow whose nodes Argo's real controller compressed.

Argo compresses ``status.nodes`` into ``status.compressedNodes`` when the Workflow is
larger than ``MAX_WORKFLOW_SIZE`` (an environment variable, 1 MiB by default): this
module's own controller gets a small one. The v4.0.5 controller writes gzip and reads
only gzip (v4.1 also writes zstd or brotli, as configured, and reads all three), which
is why the operator writes nodes back in the encoding it read them in rather than
choosing one: a different one can make the controller fail the Workflow.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from typing import Any

import brotli
import pytest

from agentic_operator import argo
from agentic_operator.kubeclient import Client, kubeconfig
from agentic_operator.workflows import WorkflowManager
from tests.cluster.argo import ArgoController, install_crds
from tests.cluster.controlplane import ControlPlane, wait_for
from tests.cluster.kube import Kube

NAMESPACE = "argo-packing"
INSTANCE = "packing"
WORKFLOW = "argoproj.io/v1alpha1"
HOLDS = 40  # other suspended tasks: they make the node map large, and need no pods
MAX_WORKFLOW_SIZE = 10_000  # above the Workflow with plain nodes, below it with compressed ones


@pytest.fixture(scope="module")
def packing(cluster: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArgoController]:
    install_crds(cluster)
    cluster.kube().namespace(NAMESPACE)
    with ArgoController(
        cluster,
        tmp_path_factory.mktemp("argo-packing"),
        config={"instanceID": INSTANCE},
        configmap="workflow-controller-configmap-packing",
        env={"MAX_WORKFLOW_SIZE": str(MAX_WORKFLOW_SIZE)},
    ) as controller:
        yield controller


def _workflow(name: str) -> dict[str, Any]:
    """A gate with a supplied output, a task after it, and many other suspended tasks."""
    tasks = [{"name": "gate", "template": "gate"}, {"name": "after", "template": "hold", "dependencies": ["gate"]}]
    tasks += [{"name": f"hold-{i}", "template": "hold"} for i in range(HOLDS)]
    gate = {
        "name": "gate",
        "suspend": {},
        "outputs": {"parameters": [{"name": "decision", "valueFrom": {"supplied": {}}}]},
    }
    return {
        "apiVersion": WORKFLOW,
        "kind": "Workflow",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": {"workflows.argoproj.io/controller-instanceid": INSTANCE},
        },
        "spec": {
            "entrypoint": "main",
            "templates": [{"name": "main", "dag": {"tasks": tasks}}, gate, {"name": "hold", "suspend": {}}],
        },
    }


def _node(workflow: dict[str, Any], display_name: str) -> dict[str, Any]:
    return next((n for n in argo.nodes_of(workflow).values() if n.get("displayName") == display_name), {})


def _compressed_at_the_gate(kube: Kube, name: str, controller: ArgoController) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        workflow = kube.get(WORKFLOW, "Workflow", name, namespace=NAMESPACE)
        status = workflow.get("status") or {}
        assert status.get("phase") != "Error", f"{status.get('message')}\n{controller.log()}"
        return workflow if status.get("compressedNodes") and argo.is_active_suspend(_node(workflow, "gate")) else None

    workflow = wait_for(ready, timeout=60, what=f"compressed nodes at the gate (log: {controller.log_path})")
    assert workflow is not None
    return workflow


def test_the_controller_compresses_large_node_maps_with_gzip(packing: ArgoController) -> None:
    kube = packing.cluster.kube()
    kube.create(_workflow("packed"))
    status = _compressed_at_the_gate(kube, "packed", packing)["status"]
    assert "nodes" not in status
    assert argo.compression_of(base64.b64decode(status["compressedNodes"])) == argo.GZIP


def test_a_resume_the_operator_writes_back_compressed_is_read_by_the_controller(packing: ArgoController) -> None:
    """Through WorkflowManager (the operator's writer): the controller moves past the gate."""
    kube = packing.cluster.kube()
    kube.create(_workflow("resumed"))
    _compressed_at_the_gate(kube, "resumed", packing)

    async def resume() -> dict[str, Any] | None:
        client = Client(kubeconfig(packing.cluster.kubeconfig), user_agent="agentic-operator/test")
        try:
            return await WorkflowManager(client).resume(
                NAMESPACE,
                "resumed",
                node_selector="displayName=gate",
                outputs={"decision": "approved"},
                message="approved",
            )
        finally:
            await client.close()

    written = asyncio.run(resume())
    assert written is not None and "nodes" not in written["status"]
    assert argo.compression_of(base64.b64decode(written["status"]["compressedNodes"])) == argo.GZIP

    def past_the_gate() -> dict[str, Any] | None:
        workflow = kube.get(WORKFLOW, "Workflow", "resumed", namespace=NAMESPACE)
        assert (workflow.get("status") or {}).get("phase") == "Running", packing.log()
        return workflow if argo.is_active_suspend(_node(workflow, "after")) else None

    workflow = wait_for(past_the_gate, timeout=60, what=f"the task after the gate (log: {packing.log_path})")
    assert workflow is not None
    gate = _node(workflow, "gate")
    assert gate["phase"] == "Succeeded" and gate["message"] == "approved"
    assert gate["outputs"]["parameters"] == [{"name": "decision", "value": "approved"}]


def test_nodes_written_back_in_another_algorithm_fail_a_v4_0_controller(packing: ArgoController) -> None:
    """Why the algorithm is kept: brotli (a v4.1 option) is unreadable to v4.0.5."""
    kube = packing.cluster.kube()
    kube.create(_workflow("rewritten"))
    workflow = argo.resume(
        _compressed_at_the_gate(kube, "rewritten", packing),
        node_selector="displayName=gate",
        outputs={"decision": "approved"},
    )
    nodes = argo.nodes_of(workflow)
    packed = brotli.compress(json.dumps(nodes).encode())
    workflow["status"]["compressedNodes"] = base64.b64encode(packed).decode()
    kube.replace(workflow)
    wait_for(
        lambda: (
            (kube.get(WORKFLOW, "Workflow", "rewritten", namespace=NAMESPACE).get("status") or {}).get("phase")
            == "Error"
        ),
        timeout=60,
        what=f"the controller to fail the workflow (log: {packing.log_path})",
    )
    message = kube.get(WORKFLOW, "Workflow", "rewritten", namespace=NAMESPACE)["status"]["message"]
    assert "decompress" in message
