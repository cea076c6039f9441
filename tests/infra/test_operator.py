"""Operator: least-privilege RBAC, the bundled Deployment with its OPA sidecar."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from agentic_operator.settings import Settings
from components import bundle, config, operator, podspec
from testkit.opa import sidecar_args
from tests.infra.conftest import dev_config, run_main
from tests.infra.harness import Harness, Run
from tests.infra.k8s import pod_spec

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"


def containers(run: Run) -> dict[str, dict[str, Any]]:
    spec = pod_spec(run.one(DEPLOYMENT, operator.NAME))
    return {c["name"]: c for c in [*spec.get("initContainers", []), *spec["containers"]]}


def test_rbac_is_namespaced_and_exactly_what_the_operator_uses(dev_stack: Run) -> None:
    expected = [
        {"apiGroups": ["agentic.dev"], "resources": ["agentworkloads"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["agentic.dev"], "resources": ["agentworkloads/status"], "verbs": ["patch"]},
        {"apiGroups": ["agentic.dev"], "resources": ["agentworkloads/finalizers"], "verbs": ["update"]},
        {
            "apiGroups": ["argoproj.io"],
            "resources": ["workflows"],
            "verbs": ["get", "list", "watch", "create", "update", "patch"],
        },
        {"apiGroups": ["argoproj.io"], "resources": ["workflowtemplates"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    ]
    roles = [r.manifest for r in dev_stack.of_type(ROLE) if r.manifest["metadata"]["name"] == operator.NAME]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    assert all(r["rules"] == expected for r in roles)
    bindings = [r.manifest for r in dev_stack.of_type(BINDING) if r.manifest["metadata"]["name"] == operator.NAME]
    for binding in bindings:
        assert binding["roleRef"]["kind"] == "Role"
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": operator.NAME, "namespace": "agentic-system"}]
    # Nothing cluster-wide is bound at all; the one ClusterRole is for human approvers.
    assert not [r for r in dev_stack.resources if "ClusterRoleBinding" in r.type]
    assert [r.manifest["metadata"]["name"] for r in dev_stack.resources if "ClusterRole" in r.type] == [
        "agentic-approver"
    ]


def test_one_replica_replaced_not_rolled(dev_stack: Run) -> None:
    spec = dev_stack.one(DEPLOYMENT, operator.NAME).manifest["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    assert pod_spec(dev_stack.one(DEPLOYMENT, operator.NAME))["serviceAccountName"] == operator.NAME


def test_the_environment_is_what_the_operator_settings_read(dev_stack: Run) -> None:
    env = {e["name"]: e["value"] for e in containers(dev_stack)["operator"]["env"]}
    assert env["AGENTIC_NAMESPACES"] == "team-a,team-b"
    assert env["AGENTIC_OPA_URL"] == "http://127.0.0.1:8181"
    assert env["AGENTIC_LOG_FORMAT"] == "json"
    settings = Settings.from_env(env)
    assert settings.namespaces == ("team-a", "team-b")
    assert settings.resync_seconds == 120  # Pulumi.dev.yaml
    assert (settings.default_bucket, settings.http_port) == ("agentic-artifacts", 8080)
    assert settings.default_agent_image == config.DEFAULT_AGENT_IMAGE  # bundled mode


def test_bundled_mode_installs_the_lock_and_runs_the_mounted_source(dev_stack: Run) -> None:
    parts = containers(dev_stack)
    install, main = parts["install"], parts["operator"]
    assert install["image"] == main["image"] == "python:3.11.16-slim"
    command = install["command"] + install["args"]
    assert command[:4] == ["python", "-m", "pip", "install"]
    assert "--no-cache-dir" in command
    assert command[command.index("--target") + 1] == operator.DEPS_DIR
    assert command[command.index("--requirement") + 1] == f"{operator.SOURCE_DIR}/requirements.lock"
    assert main["command"] == ["python", "-m", "agentic_operator"]
    env = {e["name"]: e["value"] for e in main["env"]}
    assert env["PYTHONPATH"] == f"{operator.SOURCE_DIR}:{operator.DEPS_DIR}"
    source = dev_stack.one("kubernetes:core/v1:ConfigMap", f"{operator.NAME}-source").manifest
    assert source["data"] == bundle.operator_source().data


def test_probes_metrics_and_rollout_annotations(dev_stack: Run) -> None:
    main = containers(dev_stack)["operator"]
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert main["ports"] == [{"name": "http", "containerPort": 8080}]
    annotations = dev_stack.one(DEPLOYMENT, operator.NAME).manifest["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert (annotations["prometheus.io/port"], annotations["prometheus.io/path"]) == ("8080", "/metrics")
    assert annotations[operator.ANNOTATION_SOURCE] == bundle.operator_source().hash
    expected = bundle.policies(overrides={"allowed_buckets": ["agentic-artifacts"]})  # the platform's bucket
    assert annotations[operator.ANNOTATION_POLICIES] == expected.hash


def test_opa_serves_on_loopback_and_is_probed_on_the_diagnostic_address(dev_stack: Run) -> None:
    opa = containers(dev_stack)["opa"]
    assert opa["image"] == "openpolicyagent/opa:1.22.3-static"
    assert opa["args"] == [
        "run",
        "--server",
        "--addr=127.0.0.1:8181",
        "--diagnostic-addr=0.0.0.0:8282",
        "--ignore=.*",
        "--log-format=json",
        "--optimize-store-for-read-speed",
        "/policies",
    ]
    assert opa["args"] == sidecar_args("/policies", "127.0.0.1:8181", "0.0.0.0:8282")  # what the tests' OPA runs
    assert opa["livenessProbe"]["httpGet"] == {"path": "/health", "port": 8282}
    assert opa["readinessProbe"]["httpGet"] == {"path": "/health?plugins", "port": 8282}
    assert {"name": "policies", "mountPath": "/policies", "readOnly": True} in opa["volumeMounts"]


def test_every_operator_container_is_restricted_and_bounded(dev_stack: Run) -> None:
    assert pod_spec(dev_stack.one(DEPLOYMENT, operator.NAME))["securityContext"] == podspec.pod_security_context()
    for name, container in containers(dev_stack).items():
        assert container["securityContext"] == podspec.container_security_context(), name
        assert set(container["resources"]) == {"requests", "limits"}, name


def test_the_deployment_waits_for_its_rbac_config_maps_crd_and_namespaces(dev_stack: Run) -> None:
    deployment = dev_stack.one(DEPLOYMENT, operator.NAME)
    needed = [
        dev_stack.one("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"),
        dev_stack.one("kubernetes:core/v1:Namespace", "team-a"),
        dev_stack.one("kubernetes:core/v1:Namespace", "team-b"),
        dev_stack.one("kubernetes:core/v1:ConfigMap", f"{operator.NAME}-policies"),
        dev_stack.one("kubernetes:core/v1:ServiceAccount", operator.NAME),
        *[r for r in dev_stack.of_type(BINDING) if r.manifest["metadata"]["name"] == operator.NAME],
    ]
    assert {r.urn for r in needed} <= set(deployment.dependencies)
    for role in dev_stack.of_type(ROLE):
        if role.manifest["metadata"]["name"] == operator.NAME:
            ns = dev_stack.one("kubernetes:core/v1:Namespace", role.manifest["metadata"]["namespace"])
            assert ns.urn in role.dependencies


def _operator_run(tmp_path: Path, values: dict[str, Any]) -> Run:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "gate.rego").write_text("package agentic.gate\n")
    (policies / "gate_test.rego").write_text("package agentic.gate_test\n")
    (policies / "data.json").write_text(json.dumps({"agentic": {"config": {"threshold": 0.9}}}))
    return Harness(values).run(lambda: operator.Operator("op", config.load(policy_dir=policies).operator))


def test_policies_config_map_holds_non_test_rego_and_merged_data(tmp_path: Path) -> None:
    run = _operator_run(tmp_path, {"policy.data": {"threshold": 0.8}})
    data = run.one("kubernetes:core/v1:ConfigMap", f"{operator.NAME}-policies").manifest["data"]
    assert sorted(data) == ["data.json", "gate.rego"]
    assert json.loads(data["data.json"]) == {"agentic": {"config": {"threshold": 0.8}}}


def test_image_mode_runs_the_image_without_installing_or_mounting_source(tmp_path: Path) -> None:
    image = "registry.example/agentic-operator:0.1.0"
    run = _operator_run(tmp_path, {"operator.image": image})
    spec = pod_spec(run.one(DEPLOYMENT, operator.NAME))
    assert "initContainers" not in spec
    (main, _opa) = spec["containers"]
    assert (main["image"], main["command"]) == (image, ["python", "-m", "agentic_operator"])
    assert "PYTHONPATH" not in {e["name"] for e in main["env"]}
    assert not [r for r in run.resources if r.manifest.get("metadata", {}).get("name") == f"{operator.NAME}-source"]
    annotations = run.one(DEPLOYMENT, operator.NAME).manifest["spec"]["template"]["metadata"]["annotations"]
    assert operator.ANNOTATION_SOURCE not in annotations


def test_a_source_change_rolls_the_deployment(tmp_path: Path) -> None:
    copy = tmp_path / "operator"
    shutil.copytree(bundle.OPERATOR_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    base = config.OperatorConfig(
        namespace="agentic-system",
        workload_namespaces=("team-a",),
        image=None,
        python_image=config.PYTHON_IMAGE,
        opa_image=config.OPA_IMAGE,
        resync_seconds=300,
        default_agent_image="registry.example/agent:1.0.0",
        default_bucket="b",
        policy_overrides={},
    )
    policies = bundle.policies(tmp_path / "no-policies")

    def annotation() -> str:
        spec = operator.deployment_spec(base, bundle.operator_source(copy), policies)
        return str(spec["template"]["metadata"]["annotations"][operator.ANNOTATION_SOURCE])

    before = annotation()
    (copy / bundle.PACKAGE / "settings.py").write_text("# changed\n")
    assert annotation() != before


def _policy_config(run: Run, name: str) -> dict[str, Any]:
    """agentic.config in a ConfigMap's data.json (the operator's OPA, the agent's guard)."""
    found = [r.manifest for r in run.of_type("kubernetes:core/v1:ConfigMap") if r.manifest["metadata"]["name"] == name]
    sections = [json.loads(m["data"]["data.json"])["agentic"]["config"] for m in found]
    assert sections and all(s == sections[0] for s in sections)  # one per namespace, all alike
    config_section: dict[str, Any] = sections[0]
    return config_section


def test_only_the_platforms_bucket_is_allowed_unless_the_stack_lists_its_own(dev_stack: Run) -> None:
    """Issue 11: allowed_buckets was [], so a workload could name any bucket matching the pattern."""
    assert _policy_config(dev_stack, f"{operator.NAME}-policies")["allowed_buckets"] == ["agentic-artifacts"]
    assert _policy_config(dev_stack, "agentic-agent-policy")["allowed_buckets"] == ["agentic-artifacts"]
    listed = run_main(Harness({**dev_config(), "policy.data": {"allowed_buckets": ["agentic-artifacts", "reports"]}}))
    assert _policy_config(listed, f"{operator.NAME}-policies")["allowed_buckets"] == ["agentic-artifacts", "reports"]
