"""AgenticPlatform: what `pulumi destroy` keeps (retain.*), and what it may delete."""

from __future__ import annotations

from tests.infra.conftest import dev_config, run_main
from tests.infra.harness import Harness, Run

STATEFULSET = "kubernetes:apps/v1:StatefulSet"


def retained(run: Run) -> set[str]:
    return {f"{r.manifest['kind']}/{r.manifest['metadata']['name']}" for r in run.resources if r.retain and r.custom}


def test_destroy_keeps_the_crd_and_minios_data_by_default(dev_stack: Run) -> None:
    """Deleting the CRD deletes every AgentWorkload; the namespace holds MinIO's volume claim."""
    assert retained(dev_stack) == {"CustomResourceDefinition/agentworkloads.agentic.dev", "Namespace/agentic-system"}
    policy = dev_stack.one(STATEFULSET, "minio").manifest["spec"]["persistentVolumeClaimRetentionPolicy"]
    assert policy == {"whenDeleted": "Retain", "whenScaled": "Retain"}


def test_a_stack_may_give_up_the_crd_and_the_data() -> None:
    run = run_main(Harness({**dev_config(), "retain.crd": "false", "retain.minioData": False}))
    assert retained(run) == set()
    policy = run.one(STATEFULSET, "minio").manifest["spec"]["persistentVolumeClaimRetentionPolicy"]
    assert policy == {"whenDeleted": "Delete", "whenScaled": "Delete"}
