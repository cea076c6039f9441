"""Every manifest the Pulumi program renders for the dev stack is accepted by the real API server.

The dev stack (Pulumi.dev.yaml) runs through the mock harness (tests/infra/harness.py), which
records every resource the program registers. Each Kubernetes object goes to the server as
pulumi-kubernetes sends it (server-side apply, numbers as integers where they are whole)
with a dry run (every admission step: schema and defaulting, RBAC's escalation check on
Roles and bindings, Pod Security on pod templates; nothing stored) and strict field
validation (an unknown or misspelt field is refused, not dropped). The server's Warnings
count as failures: a Pod Security warning on a Deployment means its pods would be refused.

First, for real: the stack's namespaces (one that exists is left as it is: the session
shares namespaces, e.g. ``argo`` with Argo's controller), the AgentWorkload CRD, and Argo's
CRDs (tests.cluster.argo.install_crds: the minimal ones the chart installs, whose spec
accepts any fields: the WorkflowTemplates' own shape is checked by tests/infra).

Not judged here: the Helm release (``kubernetes:helm.sh/v3:Release``). The provider renders
Argo's chart at deploy time, and no chart repository is reachable from these machines, so
its objects cannot be rendered, let alone sent. The ``random:`` passwords are not Kubernetes
objects.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from agentic_operator import api
from tests.cluster import crds
from tests.cluster.argo import install_crds
from tests.cluster.controlplane import ControlPlane
from tests.cluster.kube import Kube
from tests.infra.conftest import dev_config, run_main
from tests.infra.harness import Harness

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
FIELD_MANAGER = "pulumi-kubernetes"  # server-side apply, as the provider does by default


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    run = run_main(Harness(dev_config()))
    return [
        r.as_sent
        for r in run.resources
        if r.custom and not r.read and r.type.startswith("kubernetes:") and r.type != HELM_RELEASE
    ]


def _id(manifest: dict[str, Any]) -> str:
    meta = manifest["metadata"]
    return "/".join(filter(None, (manifest["kind"], meta.get("namespace"), meta["name"])))


@pytest.fixture(scope="module")
def kube(cluster: ControlPlane, manifests: list[dict[str, Any]]) -> Kube:
    """The namespaces and the CRDs the other manifests need, for real."""
    kube = cluster.kube()
    for namespace in (m for m in manifests if m["kind"] == "Namespace"):
        try:
            kube.create(namespace)
        except ApiException as exc:
            if exc.status != 409:
                raise
    (crd,) = [m for m in manifests if m["kind"] == "CustomResourceDefinition"]
    assert crd == api.crd(), "the stack's CRD is not api.crd()"
    crds.install(kube, crd)
    install_crds(cluster)
    kube.invalidate()
    return kube


def test_the_stack_renders_what_this_test_judges(manifests: list[dict[str, Any]]) -> None:
    """The kinds judged below, each object once (the release is the one resource left out)."""
    kinds = {m["kind"] for m in manifests}
    assert {"Namespace", "CustomResourceDefinition", "WorkflowTemplate", "Deployment", "Role"} <= kinds
    assert len(manifests) == len({_id(m) for m in manifests}), "two resources render the same object"


def test_the_server_accepts_every_manifest(kube: Kube, manifests: list[dict[str, Any]]) -> None:
    query = {"dryRun": "All", "fieldManager": FIELD_MANAGER, "force": "true", "fieldValidation": "Strict"}
    refused = []
    for manifest in manifests:
        path = f"{kube.path(manifest)}/{manifest['metadata']['name']}"
        body = json.dumps(manifest).encode()
        answer = kube.send("PATCH", path, body, query=query, content_type="application/apply-patch+yaml")
        if answer.status not in (200, 201) or answer.warnings:
            refused.append((_id(manifest), answer.status, answer.body.get("message"), answer.warnings))
    assert refused == []
