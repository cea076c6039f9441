"""The CrossGuard rules on the inputs the mock harness records: dev passes, bad inputs fail."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs, ResourceValidationPolicy

from crossguard import rules
from tests.infra.conftest import dev_config, run_main
from tests.infra.harness import Harness, Registered, Run

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
POLICY = {policy.name: policy for policy in rules.POLICIES}


def violations(
    policy: ResourceValidationPolicy, resource_type: str, props: dict[str, Any], name: str = "r"
) -> list[str]:
    """What ``policy`` reports for one resource, called as the pack's server calls it."""
    found: list[str] = []
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    args = ResourceValidationArgs(
        resource_type, props, f"urn:pulumi:dev::p::{resource_type}::{name}", name, options, None
    )
    validate = policy.validate if callable(policy.validate) else None
    assert validate is not None

    def report(message: str, urn: str | None = None) -> None:
        found.append(message)

    validate(args, report)
    return found


@pytest.fixture(scope="module", params=["helm", "external"])
def stack(request: pytest.FixtureRequest) -> Run:
    return run_main(Harness({**dev_config(), "argo.install": request.param}))


@pytest.fixture(scope="module")
def dev() -> Run:
    return run_main(Harness(dev_config()))


def operator_deployment(run: Run) -> Registered:
    return run.one(DEPLOYMENT, "agentic-operator")


@pytest.mark.parametrize("name", sorted(POLICY))
def test_every_resource_of_the_stack_passes(stack: Run, name: str) -> None:
    """What the program creates, in both Argo modes, meets every rule of its own pack."""
    for resource in stack.resources:
        assert violations(POLICY[name], resource.type, resource.manifest, resource.name) == [], resource.name


def bad_deployment(run: Run, change: Any) -> dict[str, Any]:
    manifest = copy.deepcopy(operator_deployment(run).manifest)
    change(manifest["spec"]["template"]["spec"])
    return manifest


def _operator(pod: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in pod["containers"] if c["name"] == "operator")


@pytest.mark.parametrize(
    ("policy", "change", "problem"),
    [
        (
            "restricted-pod-security",
            lambda pod: _operator(pod)["securityContext"].update(privileged=True),
            "is privileged",
        ),
        (
            "restricted-pod-security",
            lambda pod: _operator(pod)["securityContext"].update(allowPrivilegeEscalation=True),
            "privilege escalation",
        ),
        (
            "restricted-pod-security",
            lambda pod: _operator(pod)["securityContext"].update(runAsNonRoot=False),
            "may run as root",
        ),
        ("restricted-pod-security", lambda pod: _operator(pod)["securityContext"].pop("capabilities"), "drop ALL"),
        ("restricted-pod-security", lambda pod: pod.update(hostNetwork=True), "hostNetwork"),
        (
            "restricted-pod-security",
            lambda pod: pod["volumes"].append({"name": "h", "hostPath": {"path": "/"}}),
            "hostPath",
        ),
        ("pinned-images", lambda pod: _operator(pod).update(image="python:latest"), "not pinned"),
        ("pinned-images", lambda pod: _operator(pod).update(image="python"), "not pinned"),
        (
            "no-plaintext-secrets",
            lambda pod: _operator(pod)["env"].append({"name": "DB_PASSWORD", "value": "x"}),
            "DB_PASSWORD as a plain value",
        ),
        (
            "resources-set",
            lambda pod: _operator(pod).pop("resources"),
            "lacks requests.cpu, requests.memory, limits.memory",
        ),
    ],
)
def test_a_bad_pod_fails_naming_resource_and_problem(dev: Run, policy: str, change: Any, problem: str) -> None:
    found = violations(POLICY[policy], DEPLOYMENT, bad_deployment(dev, change), "agentic-operator")
    assert found and all(m.startswith("agentic-operator: ") for m in found)
    assert any(problem in m for m in found), found


def test_a_secret_from_a_secret_ref_is_fine_but_not_a_plain_one() -> None:
    env = [{"name": "MINIO_ROOT_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]
    pod = {"spec": {"containers": [{"name": "c", "env": env}]}}
    assert violations(POLICY["no-plaintext-secrets"], rules.POD, pod) == []
    env.append({"name": "API_TOKEN", "value": "abc"})
    assert violations(POLICY["no-plaintext-secrets"], rules.POD, pod) == [
        "r: spec: container 'c' sets API_TOKEN as a plain value: use secretKeyRef"
    ]


def test_credentials_in_a_configmap_are_refused() -> None:
    found = violations(POLICY["no-plaintext-secrets"], rules.CONFIG_MAP, {"data": {"db-password": "x", "url": "y"}})
    assert found == ["r: ConfigMap key 'db-password' looks like a credential: keep it in a Secret"]


@pytest.mark.parametrize("field", ["apiGroups", "resources", "verbs"])
def test_wildcard_rbac_is_refused(field: str) -> None:
    rule = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}
    rule[field] = ["*"]
    role = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
    assert violations(POLICY["no-wildcard-rbac"], role, {"rules": [rule]}) == [f"r: rules[0].{field} holds '*'"]


@pytest.mark.parametrize("version", ["^1.0.18", "latest", "1.0"])
def test_an_unpinned_chart_is_refused(version: str) -> None:
    release = {"chart": "argo-workflows", "version": version}
    (found,) = violations(POLICY["pinned-charts"], "kubernetes:helm.sh/v3:Release", release)
    assert "not a pinned chart version" in found


def test_a_template_image_parameter_is_checked_through_its_default() -> None:
    template = {
        "spec": {
            "arguments": {"parameters": [{"name": "agent-image", "value": "ghcr.io/x/agent:latest"}]},
            "templates": [
                {"name": "step", "container": {"name": "main", "image": "{{workflow.parameters.agent-image}}"}}
            ],
        }
    }
    (found,) = violations(POLICY["pinned-images"], rules.WORKFLOW_TEMPLATE, template)
    assert "spec.templates[step]" in found and "not pinned" in found
