"""WorkflowManager over a fake API server: idempotent create, conflict-safe resume, stop."""

from __future__ import annotations

from typing import Any

import pytest

from agentic_contract import pipeline
from agentic_operator import argo
from agentic_operator.kubeclient import ApiError
from agentic_operator.workflows import (
    TemplateNotFoundError,
    WorkflowConflictError,
    WorkflowManager,
    WorkflowNotFoundError,
)
from testkit import argo_sim
from testkit.factories import workflow, workload
from testkit.fake_k8s import FakeApi

DECISION = {"decision": "approved", "decided-by": "policy", "reason": "ok"}
GATE = "displayName=approval-gate"


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture
def fake() -> FakeApi:
    return FakeApi()


@pytest.fixture
def manager(fake: FakeApi) -> WorkflowManager:
    return WorkflowManager(fake, sleep=no_sleep)


def controller_writes(fake: FakeApi, change: Any) -> None:
    """Play Argo's controller: one more write to the stored Workflow."""
    (key,) = [k for k in fake.objects if k[0] == "workflows"]
    obj = fake.objects[key]
    change(obj)
    fake.put("workflows", obj)


async def create(manager: WorkflowManager, wl: dict[str, Any]) -> dict[str, Any]:
    return await manager.create(wl, workflow(wl))


def gate_of(fake: FakeApi) -> dict[str, Any]:
    wf = fake.objects[("workflows", "team-a", "demo")]
    return argo.nodes_of(wf)[argo_sim.node_id("demo", "demo.approval-gate")]


async def waiting(fake: FakeApi, manager: WorkflowManager) -> None:
    created = await create(manager, workload())
    fake.put("workflows", argo_sim.run_until_gate(created))


async def test_create_makes_the_workflow_once(fake: FakeApi, manager: WorkflowManager) -> None:
    first = await create(manager, workload())
    second = await create(manager, workload())  # a retry, or an operator restart
    assert first["metadata"]["name"] == second["metadata"]["name"] == "demo"
    assert len(fake.objects) == 1 and fake.writes() == ["create", "create"]


async def test_create_refuses_someone_elses_workflow(fake: FakeApi, manager: WorkflowManager) -> None:
    fake.put("workflows", {"metadata": {"name": "demo", "namespace": "team-a"}, "spec": {}})
    with pytest.raises(WorkflowConflictError, match=r"belongs to something else: choose another spec\.jobId") as info:
        await create(manager, workload())
    assert not info.value.transient


async def test_create_waits_for_an_earlier_incarnation_being_deleted(fake: FakeApi, manager: WorkflowManager) -> None:
    await create(manager, workload(uid="old"))
    with pytest.raises(WorkflowConflictError, match="still being deleted") as info:
        await create(manager, workload(uid="new"))
    assert info.value.transient


async def test_create_passes_other_api_errors_through(fake: FakeApi, manager: WorkflowManager) -> None:
    fake.fail("create", 500)
    with pytest.raises(ApiError):
        await create(manager, workload())


async def test_get_of_a_missing_workflow_is_none(manager: WorkflowManager) -> None:
    assert await manager.get("team-a", "nope") is None


async def test_get_reads_what_the_pure_core_understands(fake: FakeApi, manager: WorkflowManager) -> None:
    await waiting(fake, manager)
    st = argo.workflow_status(await manager.get("team-a", "demo"))
    assert st.suspended and st.current_step == pipeline.STEP_GATE


async def test_resume_is_a_full_update_carrying_resource_version(fake: FakeApi, manager: WorkflowManager) -> None:
    await waiting(fake, manager)
    assert await manager.resume("team-a", "demo", node_selector=GATE, outputs=DECISION) is not None
    assert fake.writes()[-1] == "replace"
    gate = gate_of(fake)
    decision = gate["outputs"]["parameters"][0]
    assert gate["phase"] == "Succeeded" and (decision["name"], decision["value"]) == ("decision", "approved")


async def test_resume_retries_on_conflict_and_loses_no_update(fake: FakeApi, manager: WorkflowManager) -> None:
    """The controller writes between our read and our update, twice: both writes survive."""
    await waiting(fake, manager)
    fake.before_write += [
        lambda f: controller_writes(f, lambda wf: wf["metadata"].setdefault("labels", {}).update(first="1")),
        lambda f: controller_writes(f, lambda wf: wf["metadata"]["labels"].update(second="2")),
    ]
    assert await manager.resume("team-a", "demo", node_selector=GATE, outputs=DECISION) is not None
    stored = fake.objects[("workflows", "team-a", "demo")]
    assert stored["metadata"]["labels"]["first"] == "1" and stored["metadata"]["labels"]["second"] == "2"
    assert gate_of(fake)["phase"] == "Succeeded"
    assert fake.writes().count("replace") == 3  # two 409s, then success


async def test_resume_gives_up_after_the_retry_budget(fake: FakeApi) -> None:
    manager = WorkflowManager(fake, sleep=no_sleep, conflict_retries=2)
    await waiting(fake, manager)
    fake.before_write += [lambda f: controller_writes(f, lambda wf: None) for _ in range(2)]
    with pytest.raises(ApiError) as info:
        await manager.resume("team-a", "demo", node_selector=GATE, outputs=DECISION)
    assert info.value.status == 409


async def test_resume_is_a_no_op_when_nothing_is_suspended(fake: FakeApi, manager: WorkflowManager) -> None:
    await waiting(fake, manager)
    assert await manager.resume("team-a", "demo", node_selector=GATE, outputs=DECISION) is not None
    writes = len(fake.writes())
    assert await manager.resume("team-a", "demo", node_selector=GATE, outputs=DECISION) is None  # no double resume
    assert len(fake.writes()) == writes


async def test_resume_of_a_missing_workflow_is_a_clear_error(manager: WorkflowManager) -> None:
    with pytest.raises(WorkflowNotFoundError, match="team-a/demo"):
        await manager.resume("team-a", "demo", outputs=DECISION)


async def test_stop_patches_shutdown(fake: FakeApi, manager: WorkflowManager) -> None:
    await waiting(fake, manager)
    assert await manager.stop("team-a", "demo") is not None
    assert fake.objects[("workflows", "team-a", "demo")]["spec"]["shutdown"] == "Stop"


async def test_stop_of_a_finished_or_missing_workflow_writes_nothing(fake: FakeApi, manager: WorkflowManager) -> None:
    assert await manager.stop("team-a", "demo") is None
    await waiting(fake, manager)
    controller_writes(fake, lambda wf: wf["status"].update(phase="Succeeded"))
    writes = len(fake.writes())
    assert await manager.stop("team-a", "demo") is None and len(fake.writes()) == writes


async def test_template_check(fake: FakeApi, manager: WorkflowManager) -> None:
    with pytest.raises(TemplateNotFoundError, match="'visual-analysis-template' not found in namespace 'team-a'"):
        await manager.check_template("team-a", "visual-analysis-template")
    fake.put("workflowtemplates", {"metadata": {"name": "visual-analysis-template", "namespace": "team-a"}})
    await manager.check_template("team-a", "visual-analysis-template")
