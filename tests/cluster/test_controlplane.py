"""The tier's own foundations behave like a real cluster, where the old emulator did not."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException

from tests.cluster.argo import ArgoController
from tests.cluster.controlplane import ControlPlane, wait_for


def test_a_service_account_may_do_only_what_rbac_grants(cluster: ControlPlane) -> None:
    """RBAC is enforced: a fresh ServiceAccount's token cannot even list pods."""
    kube = cluster.kube()
    kube.namespace("rbac-check")
    kube.create(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "nobody", "namespace": "rbac-check"}}
    )
    as_nobody = cluster.kube(token=cluster.token("rbac-check", "nobody"))
    with pytest.raises(ApiException) as refused:
        as_nobody.objects("v1", "Pod", namespace="rbac-check")
    assert refused.value.status == 403


def test_the_garbage_collector_deletes_dependents_of_a_deleted_owner(cluster: ControlPlane) -> None:
    """The real garbage collector (kube-controller-manager) runs, asynchronously."""
    kube = cluster.kube()
    kube.namespace("gc-check")
    owner = kube.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner", "namespace": "gc-check"}}
    )
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
    meta = {"name": "dependent", "namespace": "gc-check", "ownerReferences": [ref]}
    kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})
    kube.delete("v1", "ConfigMap", "owner", namespace="gc-check")
    wait_for(
        lambda: kube.find("v1", "ConfigMap", "dependent", namespace="gc-check") is None,
        timeout=60,
        what="the garbage collector",
    )


def test_argo_runs_a_workflow_as_pods_that_kwok_marks_running(cluster: ControlPlane, argo: ArgoController) -> None:
    """Argo's own controller picks up a Workflow and creates its pod, which kwok runs."""
    kube = cluster.kube()
    kube.namespace("argo-check")
    template = {"name": "main", "container": {"image": "busybox:1.36", "command": ["true"]}}
    kube.create(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {"name": "hello", "namespace": "argo-check"},
            "spec": {"entrypoint": "main", "templates": [template]},
        }
    )

    def running_pod() -> bool:
        pods = kube.objects("v1", "Pod", namespace="argo-check", label_selector="workflows.argoproj.io/workflow=hello")
        return bool(pods) and pods[0]["status"]["phase"] == "Running"

    wait_for(running_pod, timeout=60, what=f"the workflow pod to run (controller log: {argo.log_path})")
    assert kube.get("argoproj.io/v1alpha1", "Workflow", "hello", namespace="argo-check")["status"]["phase"] == "Running"
