"""Who may approve, on the tier's API server: the platform's approval policy and approvers.

The policy (components/approval.py) binds every namespace, and other modules of the
session annotate AgentWorkloads as they please (tests/cluster/test_crd.py does): so a
module that needs it has it only for its own time (:func:`enforced`), whatever order
the modules run in. An approver is what README asks a cluster admin to make: an
identity bound to the ``agentic-approver`` ClusterRole in the namespaces it approves in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kubernetes.client.exceptions import ApiException

from agentic_contract import pipeline
from agentic_operator import api
from tests.cluster.controlplane import ControlPlane, wait_for
from tests.cluster.kube import Kube

RBAC = "rbac.authorization.k8s.io"


def ensure(kube: Kube, obj: Mapping[str, Any]) -> None:
    """Create, or leave what is there (cluster-wide objects outlive a test module)."""
    try:
        kube.create(obj)
    except ApiException as exc:
        if exc.status != 409:
            raise


def service_account_user(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


def _refused(kube: Kube, namespace: str) -> bool:
    """Whether the server refuses a pre-approved AgentWorkload (dry run): the policy's first rule."""
    probe = {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND,
        "metadata": {
            "name": "approval-policy-probe",
            "namespace": namespace,
            "annotations": {api.APPROVAL: pipeline.APPROVED, api.APPROVAL_BY: "probe"},
        },
        "spec": {"targetUrls": ["https://example.com/"], "objective": "Probe the approval policy"},
    }
    try:
        kube.create(probe, dry_run=True)
    except ApiException as exc:
        return bool(exc.status == 403)
    return False


@contextmanager
def enforced(kube: Kube, policy: Sequence[Mapping[str, Any]], namespace: str) -> Iterator[None]:
    """The policy's manifests (the approver ClusterRole, the ValidatingAdmissionPolicy and
    its binding) created and in force, then removed and out of force again. ``kube`` is the
    admin's; ``namespace`` (it must exist) is where the server is asked."""
    for manifest in policy:
        ensure(kube, manifest)
    # It takes effect once the server's policy informer has it.
    wait_for(lambda: _refused(kube, namespace), timeout=60, what="the approval policy to take effect")
    try:
        yield
    finally:
        for manifest in reversed(policy):
            meta = manifest["metadata"]
            try:
                kube.delete(manifest["apiVersion"], manifest["kind"], meta["name"], namespace=meta.get("namespace"))
            except ApiException as exc:
                if exc.status != 404:
                    raise
        wait_for(lambda: not _refused(kube, namespace), timeout=60, what="the approval policy to be gone")


@dataclass(frozen=True)
class Identity:
    """A ServiceAccount the server authenticates: its client and its username."""

    kube: Kube
    username: str

    def decide(self, namespace: str, name: str, value: str, reason: str) -> dict[str, Any]:
        """A decision as README's ``kubectl annotate`` makes it, under this identity's own name."""
        annotations = {api.APPROVAL: value, api.APPROVAL_BY: self.username, api.APPROVAL_REASON: reason}
        return self.kube.patch(
            api.API_VERSION, api.KIND, name, {"metadata": {"annotations": annotations}}, namespace=namespace
        )


def bound(cluster: ControlPlane, namespace: str, name: str, role: tuple[str, str], where: Iterable[str]) -> Identity:
    """The ServiceAccount ``namespace``/``name``, bound to ``role`` (its kind and name: an
    approver's is ``("ClusterRole", "agentic-approver")``) by a RoleBinding in each of the
    namespaces ``where``, as README tells a cluster admin to bind approvers."""
    admin = cluster.kube()
    ensure(admin, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}})
    kind, role_name = role
    for bound_in in where:
        ensure(
            admin,
            {
                "apiVersion": f"{RBAC}/v1",
                "kind": "RoleBinding",
                "metadata": {"name": name, "namespace": bound_in},
                "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role_name},
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
            },
        )
    return Identity(cluster.kube(token=cluster.token(namespace, name)), service_account_user(namespace, name))
