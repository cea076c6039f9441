"""The pods Argo's real controller makes from our template, in a workload namespace as
the platform sets it up, on the real API server.

The namespace enforces Pod Security ``restricted`` and holds the executor's account,
Role and token Secret, the ResourceQuota and the LimitRange, built by the same functions
the Pulumi component uses; Argo's
controller runs with the chart's executor settings (``components.argo.executor``,
which the chart renders into the controller's ConfigMap). The operator's Workflow for a
workload is submitted; Argo creates the first step's pod, and the API server admits it
or not. kwok then marks it Running; no container runs, so what a container could read
at run time is judged from the pod spec the server stored.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from agentic_contract import pipeline
from agentic_operator import argo_names
from components import argo as argo_chart
from components import config, podspec, quotas, template, workloads
from testkit import factories
from tests.cluster.argo import ArgoController
from tests.cluster.controlplane import ControlPlane, wait_for
from tests.cluster.kube import Kube

NS = "pods-team"
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
SETTINGS = config.template_settings("agentic-system")
QUOTA = quotas.QuotaConfig()


def workload_namespace(kube: Kube) -> None:
    """What ``WorkloadNamespace`` creates that pods depend on (Secrets' values aside)."""
    kube.namespace(
        NS, labels={**podspec.labels("agentic-workloads"), **podspec.pod_security_labels(workloads.POD_SECURITY)}
    )
    account = template.EXECUTOR_SERVICE_ACCOUNT
    rbac = "rbac.authorization.k8s.io/v1"
    meta = {"name": account, "namespace": NS}
    kube.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta})
    kube.create({"apiVersion": rbac, "kind": "Role", "metadata": meta, "rules": workloads.EXECUTOR_RULES})
    kube.create(
        {
            "apiVersion": rbac,
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": NS}],
        }
    )
    kube.create(workloads.executor_token(NS))
    kube.create(quotas.resource_quota(NS, QUOTA))
    kube.create(quotas.limit_range(NS, QUOTA))
    wt = template.workflow_template(SETTINGS)
    kube.create({**wt, "metadata": {**wt["metadata"], "namespace": NS}})


@pytest.fixture(scope="module")
def scraper_pod(cluster: ControlPlane, argo: ArgoController) -> Iterator[dict[str, Any]]:
    kube = cluster.kube()
    before = copy.deepcopy(argo.config)
    argo.set_config(executor=argo_chart.executor())
    workload_namespace(kube)
    wl = factories.workload(name="pods-check", namespace=NS)
    workflow = factories.workflow(wl)
    # No AgentWorkload owns it here: without the owner, the garbage collector would delete it.
    del workflow["metadata"]["ownerReferences"]
    kube.create(workflow)
    selector = f"workflows.argoproj.io/workflow={workflow['metadata']['name']}"

    def first_pod() -> dict[str, Any] | None:
        pods = kube.objects("v1", "Pod", namespace=NS, label_selector=selector)
        return pods[0] if pods else None

    pod = wait_for(first_pod, timeout=90, what=f"Argo to create the scraper's pod (log: {argo.log_path})")
    assert pod is not None
    yield pod
    argo.config = before
    argo.set_config()


def containers(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spec = pod["spec"]
    return {c["name"]: c for c in [*spec.get("initContainers", []), *spec["containers"]]}


def token_mounts(container: dict[str, Any]) -> list[str]:
    return [m["name"] for m in container.get("volumeMounts") or [] if m["mountPath"] == TOKEN_PATH]


def test_argo_admits_its_pod_under_the_restricted_profile(scraper_pod: dict[str, Any]) -> None:
    """The namespace enforces restricted, and the server stored the pod Argo asked for."""
    assert workloads.POD_SECURITY == "restricted"
    # Argo's init and wait, the agent (main), and bundled mode's install-agent
    assert set(containers(scraper_pod)) == {"init", "wait", "main", "install-agent"}
    node = scraper_pod["metadata"]["annotations"]["workflows.argoproj.io/node-name"]
    assert node.startswith(f"pods-check.{pipeline.STEP_SCRAPER}")  # "(0)": its first attempt


def test_only_argos_own_containers_get_the_executor_token(scraper_pod: dict[str, Any]) -> None:
    """Issue 11: the agent container could create and patch WorkflowTaskResults."""
    assert scraper_pod["spec"]["automountServiceAccountToken"] is False
    by_name = containers(scraper_pod)
    assert {name: token_mounts(c) for name, c in by_name.items()} == {
        "init": ["exec-sa-token"],
        "wait": ["exec-sa-token"],
        "main": [],
        "install-agent": [],
    }
    (volume,) = [v for v in scraper_pod["spec"]["volumes"] if v["name"] == "exec-sa-token"]
    assert volume["secret"]["secretName"] == template.EXECUTOR_TOKEN_SECRET
    # nothing projected a token in some other way either
    assert not [v for v in scraper_pod["spec"]["volumes"] if "projected" in v and "kube-api-access" in v["name"]]


def test_the_artifact_credentials_too_reach_only_argos_containers(scraper_pod: dict[str, Any]) -> None:
    by_name = containers(scraper_pod)
    secret_volumes = {v["name"] for v in scraper_pod["spec"]["volumes"] if "secret" in v}
    for agents in ("main", "install-agent"):
        assert not [m for m in by_name[agents].get("volumeMounts") or [] if m["name"] in secret_volumes]
    assert {m["name"] for m in by_name["wait"]["volumeMounts"]} >= secret_volumes


def test_the_workflow_carries_the_templates_pod_gc_and_ttl(cluster: ControlPlane, scraper_pod: dict[str, Any]) -> None:
    name = scraper_pod["metadata"]["labels"]["workflows.argoproj.io/workflow"]
    wf = cluster.kube().get(argo_names.API_VERSION, "Workflow", name, namespace=NS)
    stored = wf["status"]["storedWorkflowTemplateSpec"]
    assert stored["podGC"] == template.POD_GC and stored["ttlStrategy"] == template.TTL_STRATEGY


def _pod(name: str, security_context: dict[str, Any] | None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "busybox:1.36", "command": ["true"]}
    if security_context is not None:
        container["securityContext"] = security_context
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"containers": [container]},
    }


@pytest.mark.parametrize(
    ("name", "security_context"),
    [("privileged", {"privileged": True}), ("unconfined", None), ("root", {"runAsUser": 0})],
)
def test_the_server_refuses_pods_below_restricted_in_a_workload_namespace(
    cluster: ControlPlane, scraper_pod: dict[str, Any], name: str, security_context: dict[str, Any] | None
) -> None:
    """Issue 11: workload namespaces enforced only baseline, which admits all but the first."""
    with pytest.raises(ApiException) as refused:
        cluster.kube().create(_pod(name, security_context), dry_run=True)
    assert refused.value.status == 403
    assert 'violates PodSecurity "restricted:latest"' in json.loads(refused.value.body or "{}")["message"]


def test_a_restricted_pod_is_admitted_there(cluster: ControlPlane, scraper_pod: dict[str, Any]) -> None:
    """The refusals above are for the profile, not for every pod."""
    pod = _pod("fine", podspec.container_security_context())
    pod["spec"]["securityContext"] = podspec.pod_security_context()
    assert cluster.kube().create(pod, dry_run=True)["metadata"]["name"] == "fine"


def test_argos_containers_get_the_limit_ranges_defaults_and_the_quota_counts_the_pod(
    cluster: ControlPlane, scraper_pod: dict[str, Any]
) -> None:
    """Without the defaults the quota would refuse the pod: Argo's containers name no
    ephemeral storage."""
    by_name = containers(scraper_pod)
    for name in ("init", "wait"):
        limits = by_name[name]["resources"]["limits"]
        assert limits["ephemeral-storage"] == quotas.DEFAULT_LIMIT["ephemeral-storage"], name
    assert by_name["main"]["resources"]["limits"]["ephemeral-storage"] == SETTINGS.ephemeral_storage[1]
    used = cluster.kube().get("v1", "ResourceQuota", quotas.NAME, namespace=NS)["status"]["used"]
    assert int(used["pods"]) >= 1


def test_a_step_asking_more_than_a_container_may_fails_with_the_servers_reason(
    cluster: ControlPlane, argo: ArgoController, scraper_pod: dict[str, Any]
) -> None:
    """A workload's spec.resources reaches its pods through podSpecPatch; the LimitRange bounds it."""
    kube = cluster.kube()
    wl = factories.workload(name="too-big", namespace=NS, resources={"limits": {"cpu": "64"}})
    workflow = factories.workflow(wl)
    del workflow["metadata"]["ownerReferences"]
    kube.create(workflow)

    def refused() -> str | None:
        nodes = (kube.get(argo_names.API_VERSION, "Workflow", "too-big", namespace=NS).get("status") or {}).get(
            "nodes"
        ) or {}
        return next(
            (n["message"] for n in nodes.values() if "maximum cpu usage per Container" in (n.get("message") or "")),
            None,
        )

    message = wait_for(refused, timeout=90, what=f"Argo to report the refused pod (log: {argo.log_path})")
    assert message is not None
    assert f"maximum cpu usage per Container is {QUOTA.max_cpu}" in message
