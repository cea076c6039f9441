"""The visual-analysis WorkflowTemplate as data: Argo's rules and the operator's contract."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hera.workflows.models import WorkflowTemplate

from agentic_contract import pipeline
from agentic_operator import api
from components import podspec, template
from testkit import factories
from tests.infra import argo_rules

SETTINGS = template.TemplateSettings(
    template.ArtifactStore(endpoint="minio.agentic-system.svc.cluster.local:9000", bucket="artifacts"),
    agent_image="registry.example/agent:1.2.3",
    browserless_url="http://browserless.test:3000",
    litellm_url="http://litellm.test:4000",
    llm_model="model.test",
)


def manifest() -> dict[str, Any]:
    return template.workflow_template(SETTINGS)


def templates(m: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in m["spec"]["templates"]}


def tasks(m: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in templates(m)[pipeline.ENTRYPOINT]["dag"]["tasks"]}


def test_every_variable_resolves_by_argos_rules() -> None:
    assert argo_rules.check(manifest()) == []


def _env(m: dict[str, Any], step: str) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = templates(m)[step]["container"]["env"]
    return env


def _undeclared_input(m: dict[str, Any]) -> None:
    _env(m, pipeline.STEP_SCRAPER)[0]["value"] = "{{inputs.parameters.nope}}"


def _undeclared_argument(m: dict[str, Any]) -> None:
    templates(m)[pipeline.STEP_DOM]["container"]["image"] = "{{workflow.parameters.image}}"


def _gate_not_an_ancestor(m: dict[str, Any]) -> None:
    tasks(m)[pipeline.STEP_SYNTHESIS]["dependencies"] = [pipeline.STEP_DOM]


def _undeclared_output(m: dict[str, Any]) -> None:
    tasks(m)[pipeline.STEP_SYNTHESIS]["when"] = "{{tasks.approval-gate.outputs.parameters.verdict}} == approved"


def _missing_argument(m: dict[str, Any]) -> None:
    tasks(m)[pipeline.STEP_SCRAPER]["arguments"]["parameters"].pop()


def _unknown_argument(m: dict[str, Any]) -> None:
    tasks(m)[pipeline.STEP_DOM]["arguments"]["parameters"].append({"name": "extra", "value": "x"})


def _missing_template(m: dict[str, Any]) -> None:
    tasks(m)[pipeline.STEP_DOM]["template"] = "nope"


def _cycle(m: dict[str, Any]) -> None:
    tasks(m)[pipeline.STEP_SCRAPER]["dependencies"] = [pipeline.STEP_SYNTHESIS]


def _expression(m: dict[str, Any]) -> None:
    tasks(m)[pipeline.STEP_SYNTHESIS]["when"] = "{{=true}}"


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (_undeclared_input, "{{inputs.parameters.nope}} does not resolve"),
        (_undeclared_argument, "{{workflow.parameters.image}} does not resolve"),
        (_gate_not_an_ancestor, "{{tasks.approval-gate.outputs.parameters.decision}} does not resolve"),
        (_undeclared_output, "{{tasks.approval-gate.outputs.parameters.verdict}} does not resolve"),
        (_missing_argument, "input parameter 'objective' is not supplied"),
        (_unknown_argument, "declares no input parameter 'extra'"),
        (_missing_template, "template 'nope' does not exist"),
        (_cycle, "dependency cycle"),
        (_expression, "is not checked"),
    ],
)
def test_the_variable_checker_catches_a_broken_template(
    breakage: Callable[[dict[str, Any]], None], expected: str
) -> None:
    broken = manifest()
    breakage(broken)
    errors = argo_rules.check(broken)
    assert any(expected in e for e in errors), errors


def test_the_variable_checker_reads_depends_expressions() -> None:
    """``depends: "a && b.Succeeded"`` makes a and b ancestors, like ``dependencies``."""
    m = manifest()
    gate = tasks(m)[pipeline.STEP_GATE]
    gate["depends"] = f"{pipeline.STEP_SCREENSHOTS} && {pipeline.STEP_DOM}.Succeeded"
    del gate["dependencies"]
    assert argo_rules.check(m) == []


def test_parses_with_argos_typed_models_without_losing_a_field() -> None:
    """hera's models ignore unknown fields, so a lossless round trip is the real check."""
    m = manifest()
    parsed = WorkflowTemplate.model_validate(m)
    assert json.loads(parsed.model_dump_json(by_alias=True, exclude_none=True)) == m


def test_accepts_exactly_the_parameters_build_workflow_sends() -> None:
    workflow = factories.workflow(factories.workload(resources={"limits": {"memory": "2Gi"}}))
    sent = {p["name"] for p in workflow["spec"]["arguments"]["parameters"]}
    declared = manifest()["spec"]["arguments"]["parameters"]
    assert {p["name"] for p in declared} == sent == set(pipeline.WORKFLOW_PARAMETERS)
    assert workflow["spec"]["workflowTemplateRef"]["name"] == manifest()["metadata"]["name"]
    assert "podSpecPatch" not in workflow["spec"]  # the template's own carries the resources


def test_only_image_bucket_and_resources_have_defaults_so_a_job_cannot_start_without_its_inputs() -> None:
    declared = {p["name"]: p for p in manifest()["spec"]["arguments"]["parameters"]}
    defaulted = {n for n, p in declared.items() if "value" in p}
    assert defaulted == {pipeline.PARAM_AGENT_IMAGE, pipeline.PARAM_BUCKET, pipeline.PARAM_RESOURCES}
    assert declared[pipeline.PARAM_AGENT_IMAGE]["value"] == SETTINGS.agent_image
    assert declared[pipeline.PARAM_BUCKET]["value"] == "artifacts"
    assert declared[pipeline.PARAM_RESOURCES]["value"] == "{}"  # the template's own resources


@pytest.mark.parametrize(
    ("value", "resources"),
    [("{}", {}), ('{"limits":{"cpu":"2"},"requests":{"cpu":"2"}}', {"limits": {"cpu": "2"}, "requests": {"cpu": "2"}})],
)
def test_agent_steps_feed_the_resources_parameter_into_their_own_pod_spec_patch(
    value: str, resources: dict[str, Any]
) -> None:
    """A Workflow's own podSpecPatch is refused under templateReferencing Strict or Secure;
    the template's is its own. Substituted as Argo does (as text), it patches "main"."""
    m = manifest()
    tag = "{{workflow.parameters." + pipeline.PARAM_RESOURCES + "}}"
    for step in pipeline.AGENT_STEPS:
        patch = json.loads(templates(m)[step]["podSpecPatch"].replace(tag, value))
        assert patch == {"containers": [{"name": "main", "resources": resources}]}
    assert "podSpecPatch" not in templates(m)[pipeline.STEP_GATE] and "podSpecPatch" not in m["spec"]


def test_pipeline_order_with_parallel_extractors_and_a_gated_synthesis() -> None:
    dag = tasks(manifest())
    assert list(dag) == list(pipeline.STEPS)
    assert "dependencies" not in dag[pipeline.STEP_SCRAPER]
    assert dag[pipeline.STEP_SCREENSHOTS]["dependencies"] == [pipeline.STEP_SCRAPER]
    assert dag[pipeline.STEP_DOM]["dependencies"] == [pipeline.STEP_SCRAPER]
    assert dag[pipeline.STEP_GATE]["dependencies"] == [pipeline.STEP_SCREENSHOTS, pipeline.STEP_DOM]
    assert dag[pipeline.STEP_SYNTHESIS]["dependencies"] == [pipeline.STEP_GATE]
    assert dag[pipeline.STEP_SYNTHESIS]["when"] == "{{tasks.approval-gate.outputs.parameters.decision}} == approved"


def test_gate_is_a_suspend_whose_decision_must_be_supplied() -> None:
    """No default (cannot pass unset) and no duration (a timed-out suspend would resume)."""
    gate = templates(manifest())[pipeline.STEP_GATE]
    assert gate["suspend"] == {}
    outputs = {p["name"]: p for p in gate["outputs"]["parameters"]}
    assert list(outputs) == list(pipeline.GATE_OUTPUTS)
    for param in outputs.values():
        assert param["valueFrom"] == {"supplied": {}}
        assert "value" not in param and "default" not in param["valueFrom"]
    assert outputs[pipeline.GATE_DECISION]["enum"] == [pipeline.APPROVED, pipeline.REJECTED]


def test_steps_before_the_gate_report_what_the_gate_policy_weighs() -> None:
    steps = templates(manifest())
    for step, names in pipeline.STEP_OUTPUTS.items():
        params = steps[step]["outputs"]["parameters"]
        assert [p["name"] for p in params] == list(names)
        assert all(p["valueFrom"] == {"path": pipeline.output_parameter_path(p["name"])} for p in params)


def test_every_artifact_has_a_full_s3_location_under_the_namespace_and_job() -> None:
    """Endpoint, bucket parameter, key under <namespace>/<job-id>/<step>/, credentials from the Secret.

    Issue 11: keys were job-<job-id>/..., so team-a/pricing and team-b/pricing wrote the same ones.
    """
    for step in pipeline.AGENT_STEPS:
        (artifact,) = templates(manifest())[step]["outputs"]["artifacts"]
        assert artifact["s3"] == {
            "endpoint": "minio.agentic-system.svc.cluster.local:9000",
            "bucket": "{{workflow.parameters.bucket}}",
            "key": f"{{{{workflow.namespace}}}}/{{{{workflow.parameters.job-id}}}}/{step}/{artifact['name']}.tgz",
            "insecure": True,
            "accessKeySecret": {"name": template.ARTIFACT_SECRET, "key": template.ACCESS_KEY},
            "secretKeySecret": {"name": template.ARTIFACT_SECRET, "key": template.SECRET_KEY},
        }


def test_two_namespaces_never_share_an_artifact_key() -> None:
    """The same job id in two namespaces: the keys Argo resolves differ in their first segment."""
    keys = [a["s3"]["key"] for t in manifest()["spec"]["templates"] for a in t.get("outputs", {}).get("artifacts", [])]

    def resolved(namespace: str) -> set[str]:
        return {
            k.replace("{{workflow.namespace}}", namespace).replace("{{workflow.parameters.job-id}}", "pricing")
            for k in keys
        }

    assert all(k.startswith("team-a/pricing/") for k in resolved("team-a"))
    assert resolved("team-a").isdisjoint(resolved("team-b"))


def test_agent_containers_run_restricted_with_bounded_resources() -> None:
    m = manifest()
    assert m["spec"]["serviceAccountName"] == template.EXECUTOR_SERVICE_ACCOUNT
    assert m["spec"]["securityContext"] == podspec.pod_security_context()
    for step in pipeline.AGENT_STEPS:
        container = templates(m)[step]["container"]
        assert container["image"] == "{{workflow.parameters.agent-image}}"
        assert container["command"] == [pipeline.AGENT_COMMAND, step]
        assert container["securityContext"] == podspec.container_security_context()
        assert set(container["resources"]) == {"requests", "limits"}
        assert {"name": "tmp", "mountPath": pipeline.SCRATCH} in container["volumeMounts"]


def test_the_agent_container_mounts_no_token_and_argo_uses_the_executors() -> None:
    """Issue 11: the agent's container held a token that could forge WorkflowTaskResults.

    With ``automountServiceAccountToken: false`` Argo requires ``executor.serviceAccountName``
    and mounts that account's token into its init and wait containers only (proven with
    Argo's controller in tests/cluster/test_workflow_pods.py).
    """
    spec = manifest()["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["executor"] == {"serviceAccountName": template.EXECUTOR_SERVICE_ACCOUNT}
    assert all("automountServiceAccountToken" not in t for t in spec["templates"])  # no step turns it back on


def test_finished_pods_and_workflows_are_garbage_collected() -> None:
    """Issue 11: no podGC or ttlStrategy, so every pod and Workflow stayed forever."""
    spec = manifest()["spec"]
    assert spec["podGC"] == {"strategy": "OnPodSuccess"}
    assert spec["ttlStrategy"] == {"secondsAfterCompletion": 86400}


def test_agent_steps_limit_their_ephemeral_storage_above_the_scratch_volume() -> None:
    """Issue 11: no ephemeral-storage limit let a step fill its node's disk."""
    m = manifest()
    (scratch,) = [v for v in m["spec"]["volumes"] if v["name"] == "tmp"]
    for step in pipeline.AGENT_STEPS:
        resources = templates(m)[step]["container"]["resources"]
        limit = api.quantity(resources["limits"]["ephemeral-storage"])
        assert api.quantity(resources["requests"]["ephemeral-storage"]) is not None and limit is not None
        assert limit > api.quantity(scratch["emptyDir"]["sizeLimit"])  # type: ignore[operator]


def test_services_from_settings_and_the_dsn_only_through_a_secret_key_ref() -> None:
    m = manifest()
    for step in pipeline.AGENT_STEPS:
        env = {e["name"]: e for e in _env(m, step)}
        reads = pipeline.AGENT_STEPS[step].env
        assert ("BROWSERLESS_URL" in env) == (pipeline.ENV_BROWSERLESS_URL in reads)
        assert ("LITELLM_URL" in env) == (pipeline.ENV_LITELLM_URL in reads)
        if "BROWSERLESS_URL" in env:
            assert env["BROWSERLESS_URL"]["value"] == SETTINGS.browserless_url
        if "LITELLM_URL" in env:
            assert env["LITELLM_URL"]["value"] == SETTINGS.litellm_url
        assert env["DATABASE_URL"] == {
            "name": "DATABASE_URL",
            "valueFrom": {
                "secretKeyRef": {"name": template.DATABASE_SECRET, "key": template.DATABASE_KEY, "optional": True}
            },
        }
    text = json.dumps(m["spec"]["arguments"]).lower()
    assert "dsn" not in text and "password" not in text and "secret" not in text


def test_the_builder_does_not_share_state_between_calls() -> None:
    first = manifest()
    snapshot = copy.deepcopy(first)
    _env(first, pipeline.STEP_SCRAPER).clear()
    assert manifest() == snapshot
