"""Argo's real controller with ``templateReferencing: Strict`` runs what build_workflow makes.

Under Strict (and Secure) a Workflow that references a WorkflowTemplate may set only the
fields ``ValidateUserOverrides`` allows; anything else, a ``podSpecPatch`` among them,
marks it Error. The workload's resources therefore travel as the template's ``resources``
parameter, which its agent steps feed into their own ``podSpecPatch``.

The controller here is one of this module's own (``instanceID`` strict): Strict on the
session's controller would mark other tests' template-less Workflows Error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from agentic_contract import pipeline
from components import podspec, template
from testkit import factories
from tests.cluster.argo import ArgoController, install_crds
from tests.cluster.controlplane import ControlPlane, wait_for
from tests.cluster.kube import Kube

NAMESPACE = "argo-strict"
INSTANCE = "strict"
INSTANCE_LABEL = "workflows.argoproj.io/controller-instanceid"
WORKFLOW = "argoproj.io/v1alpha1"
SETTINGS = template.TemplateSettings(
    template.ArtifactStore(endpoint=template.minio_endpoint("agentic-system"), bucket="agentic-artifacts"),
    agent_image="registry.example/agent:1.2.3",
    browserless_url="http://browserless.test:3000",
    litellm_url="http://litellm.test:4000",
    llm_model="model.test",
)
RESOURCES = {"requests": {"cpu": "250m"}, "limits": {"memory": "512Mi"}}


@pytest.fixture(scope="module")
def strict(cluster: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArgoController]:
    install_crds(cluster)
    config = {"instanceID": INSTANCE, "workflowRestrictions": {"templateReferencing": "Strict"}}
    workdir = tmp_path_factory.mktemp("argo-strict")
    with ArgoController(cluster, workdir, config=config, configmap="workflow-controller-configmap-strict") as argo:
        yield argo


@pytest.fixture(scope="module")
def kube(cluster: ControlPlane) -> Kube:
    """The namespace with what the template's pods need: its executor ServiceAccount."""
    kube = cluster.kube()
    kube.namespace(NAMESPACE)
    meta = {"name": template.EXECUTOR_SERVICE_ACCOUNT, "namespace": NAMESPACE}
    kube.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta})
    manifest = template.workflow_template(SETTINGS)
    kube.create({**manifest, "metadata": {**manifest["metadata"], "namespace": NAMESPACE}})
    return kube


def _workflow(name: str, **spec: Any) -> dict[str, Any]:
    """What build_workflow makes for a workload in the namespace, for this module's controller."""
    workflow = factories.workflow(factories.workload(name, NAMESPACE, **spec))
    workflow["metadata"]["labels"][INSTANCE_LABEL] = INSTANCE
    workflow["metadata"].pop("ownerReferences")  # no AgentWorkload here for the garbage collector to find
    return workflow


def _phase(kube: Kube, name: str) -> tuple[str, str]:
    status = kube.get(WORKFLOW, "Workflow", name, namespace=NAMESPACE).get("status") or {}
    return status.get("phase", ""), status.get("message", "")


def _main(pod: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = next(c for c in pod["spec"]["containers"] if c["name"] == "main")
    return container


def test_strict_mode_runs_build_workflows_shape_and_the_pod_carries_the_resources(
    strict: ArgoController, kube: Kube
) -> None:
    """The Workflow sets only allowed fields; the scraper's pod gets the workload's
    resources merged over the template's (each named resource on both sides)."""
    kube.create(_workflow("sized", resources=RESOURCES))

    def scraper_pod() -> dict[str, Any] | None:
        phase, message = _phase(kube, "sized")
        assert phase != "Error", f"{message}\n{strict.log()}"
        pods = kube.objects("v1", "Pod", namespace=NAMESPACE, label_selector="workflows.argoproj.io/workflow=sized")
        return next((p for p in pods if pipeline.STEP_SCRAPER in p["metadata"]["name"]), None)

    pod = wait_for(scraper_pod, timeout=60, what=f"the scraper pod (controller log: {strict.log_path})")
    storage_request, storage_limit = SETTINGS.ephemeral_storage  # the template's, which the workload leaves alone
    assert pod is not None and _main(pod)["resources"] == {
        "requests": {"cpu": "250m", "memory": "512Mi", "ephemeral-storage": storage_request},
        "limits": {"cpu": "250m", "memory": "512Mi", "ephemeral-storage": storage_limit},
    }
    # The controller creates the pod before it writes the Workflow's phase.
    wait_for(lambda: _phase(kube, "sized")[0] == "Running", timeout=30, what="the Workflow's Running phase")


def test_strict_mode_keeps_the_templates_resources_when_the_workload_names_none(
    strict: ArgoController, kube: Kube
) -> None:
    kube.create(_workflow("unsized"))
    pods = wait_for(
        lambda: kube.objects("v1", "Pod", namespace=NAMESPACE, label_selector="workflows.argoproj.io/workflow=unsized"),
        timeout=60,
        what=f"the scraper pod (controller log: {strict.log_path})",
    )
    expected = podspec.resources(SETTINGS.requests, SETTINGS.limits, ephemeral_storage=SETTINGS.ephemeral_storage)
    assert _main(pods[0])["resources"] == expected


def test_strict_mode_marks_a_workflow_with_its_own_pod_spec_patch_error(strict: ArgoController, kube: Kube) -> None:
    """The shape build_workflow made before: resources as the Workflow's own podSpecPatch."""
    workflow = _workflow("patched")
    patch = {"containers": [{"name": "main", "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}}]}
    workflow["spec"]["podSpecPatch"] = json.dumps(patch)
    kube.create(workflow)
    wait_for(
        lambda: _phase(kube, "patched")[0] in ("Error", "Failed", "Succeeded"),
        timeout=60,
        what=f"Argo to judge the workflow (controller log: {strict.log_path})",
    )
    phase, message = _phase(kube, "patched")
    assert phase == "Error"
    assert "PodSpecPatch" in message and "not permitted" in message
    assert not kube.objects("v1", "Pod", namespace=NAMESPACE, label_selector="workflows.argoproj.io/workflow=patched")
