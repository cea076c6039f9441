"""The tier's own foundations behave like a real cluster, where the old emulator did not."""

from __future__ import annotations

import kubernetes.client
import pytest
from kubernetes.client.exceptions import ApiException

from tests.cluster.argo import ArgoController
from tests.cluster.controlplane import ControlPlane, wait_for


def _namespace(cluster: ControlPlane, name: str) -> kubernetes.client.CoreV1Api:
    core = kubernetes.client.CoreV1Api(cluster.client())
    core.create_namespace({"metadata": {"name": name}})
    return core


def test_a_service_account_may_do_only_what_rbac_grants(cluster: ControlPlane) -> None:
    """RBAC is enforced: a fresh ServiceAccount's token cannot even list pods."""
    core = _namespace(cluster, "rbac-check")
    core.create_namespaced_service_account("rbac-check", {"metadata": {"name": "nobody"}})
    as_nobody = kubernetes.client.CoreV1Api(cluster.client(token=cluster.token("rbac-check", "nobody")))
    with pytest.raises(ApiException) as refused:
        as_nobody.list_namespaced_pod("rbac-check")
    assert refused.value.status == 403


def test_the_garbage_collector_deletes_dependents_of_a_deleted_owner(cluster: ControlPlane) -> None:
    """The real garbage collector (kube-controller-manager) runs, asynchronously."""
    core = _namespace(cluster, "gc-check")
    owner = core.create_namespaced_config_map("gc-check", {"metadata": {"name": "owner"}})
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    core.create_namespaced_config_map("gc-check", {"metadata": {"name": "dependent", "ownerReferences": [ref]}})
    core.delete_namespaced_config_map("owner", "gc-check")

    def gone() -> bool:
        try:
            core.read_namespaced_config_map("dependent", "gc-check")
        except ApiException as exc:
            return exc.status == 404
        return False

    wait_for(gone, timeout=60, what="the garbage collector")


def test_argo_runs_a_workflow_as_pods_that_kwok_marks_running(cluster: ControlPlane, argo: ArgoController) -> None:
    """Argo's own controller picks up a Workflow and creates its pod, which kwok runs."""
    core = _namespace(cluster, "argo-check")
    objects = kubernetes.client.CustomObjectsApi(cluster.client())
    template = {"name": "main", "container": {"image": "busybox:1.36", "command": ["true"]}}
    workflow = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": "hello", "namespace": "argo-check"},
        "spec": {"entrypoint": "main", "templates": [template]},
    }
    objects.create_namespaced_custom_object("argoproj.io", "v1alpha1", "argo-check", "workflows", workflow)

    def running_pod() -> bool:
        pods = core.list_namespaced_pod("argo-check", label_selector="workflows.argoproj.io/workflow=hello").items
        return bool(pods) and pods[0].status.phase == "Running"

    wait_for(running_pod, timeout=60, what=f"the workflow pod to run (controller log: {argo.log_path})")
    status = objects.get_namespaced_custom_object("argoproj.io", "v1alpha1", "argo-check", "workflows", "hello")
    assert status["status"]["phase"] == "Running"
