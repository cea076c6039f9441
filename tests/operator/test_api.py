"""The AgentWorkload API: CRD shape, Python validation, and their agreement."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import jsonschema
import pytest

from agentic_operator import api
from testkit.factories import workload

SCHEMA = api.crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
CRD_VALIDATOR = jsonschema.Draft7Validator(SCHEMA)


def test_crd_names_and_scope() -> None:
    """kubectl finds the kind by plural and short name, per namespace."""
    spec = api.crd()["spec"]
    assert api.crd()["metadata"]["name"] == "agentworkloads.agentic.dev"
    assert spec["group"] == "agentic.dev" and spec["scope"] == "Namespaced"
    assert spec["names"] == {
        "kind": "AgentWorkload",
        "listKind": "AgentWorkloadList",
        "plural": "agentworkloads",
        "singular": "agentworkload",
        "shortNames": ["aw"],
    }
    (version,) = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}


def test_printer_columns_make_kubectl_get_useful() -> None:
    columns = {c["name"]: c["jsonPath"] for c in api.crd()["spec"]["versions"][0]["additionalPrinterColumns"]}
    assert columns["Phase"] == ".status.phase"
    assert columns["Argo"] == ".status.argoPhase"
    assert columns["Progress"] == ".status.progress"
    assert columns["Age"] == ".metadata.creationTimestamp"


def _walk(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    out = [(path, schema)]
    for name, sub in schema.get("properties", {}).items():
        out += _walk(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        out += _walk(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        out += _walk(schema["additionalProperties"], f"{path}{{}}")
    return out


def test_schema_is_structural_and_described() -> None:
    """Every node has a type (or is int-or-string); spec fields carry descriptions for kubectl explain."""
    for path, node in _walk(SCHEMA):
        if node.get("x-kubernetes-int-or-string"):
            assert node["anyOf"] == [{"type": "integer"}, {"type": "string"}], path
        else:
            assert node.get("type") in {"object", "array", "string", "integer", "number", "boolean"}, path
        if path.startswith(".spec") and "[]" not in path:
            assert node.get("description"), f"{path} has no description"


def test_conditions_are_a_list_map_keyed_by_type() -> None:
    conditions = SCHEMA["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert set(conditions["items"]["required"]) >= {"type", "status", "lastTransitionTime", "reason", "message"}


def test_cel_rules_make_spec_immutable_and_guard_approval_against_execution() -> None:
    """The API server enforces what jsonschema cannot: immutability and the timeout order."""
    rules = [r["rule"] for r in SCHEMA["properties"]["spec"]["x-kubernetes-validations"]]
    assert rules == ["self == oldSelf", "self.timeouts.approvalSeconds < self.timeouts.executionSeconds"]


GOOD: list[dict[str, Any]] = [
    {},
    {"jobId": "job-1"},
    {"targetUrls": [f"https://site{i}.example/p?q=1#x" for i in range(50)]},
    {"targetUrls": ["http://example.com"]},
    {"agentImage": "registry.example.com:5000/team/agent:1.2.3"},
    {"agentImage": "ghcr.io/agentic-dev/agent@sha256:" + "a" * 64},
    {"minioBucket": "my-bucket-1"},
    {"autoApproveThreshold": 0},
    {"autoApproveThreshold": 1},
    {"workflowTemplateRef": {"name": "other-template"}},
    {"timeouts": {"executionSeconds": 600, "approvalSeconds": 300}},
    {"resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": 2, "memory": "1Gi"}}},
]

# (spec overrides, field the message must name); all rejected by the CRD schema too.
BAD: list[tuple[dict[str, Any], str]] = [
    ({"targetUrls": []}, "spec.targetUrls"),
    ({"targetUrls": [f"https://e{i}.example" for i in range(51)]}, "spec.targetUrls"),
    ({"targetUrls": ["ftp://example.com/file"]}, "spec.targetUrls[0]"),
    ({"targetUrls": ["https://ok.example", "not a url"]}, "spec.targetUrls[1]"),
    ({"targetUrls": ["https://"]}, "spec.targetUrls[0]"),
    ({"targetUrls": "https://example.com"}, "spec.targetUrls"),
    ({"objective": ""}, "spec.objective"),
    ({"jobId": "Bad_Job"}, "spec.jobId"),
    ({"jobId": "a" * 64}, "spec.jobId"),
    ({"jobId": "-leading"}, "spec.jobId"),
    ({"autoApproveThreshold": 1.5}, "spec.autoApproveThreshold"),
    ({"autoApproveThreshold": -0.1}, "spec.autoApproveThreshold"),
    ({"autoApproveThreshold": "high"}, "spec.autoApproveThreshold"),
    ({"minioBucket": "UPPER"}, "spec.minioBucket"),
    ({"minioBucket": "my.bucket-1"}, "spec.minioBucket"),  # no dots: see api.BUCKET_PATTERN
    ({"agentImage": "has space:1"}, "spec.agentImage"),
    ({"workflowTemplateRef": {"name": "Not_Valid"}}, "spec.workflowTemplateRef.name"),
    ({"timeouts": {"executionSeconds": 10}}, "spec.timeouts.executionSeconds"),
    ({"timeouts": {"approvalSeconds": 1.5}}, "spec.timeouts.approvalSeconds"),
    ({"resources": {"limits": {"cpu": "lots"}}}, "spec.resources.limits.cpu"),
    ({"objective": "Report {{workflow.name}}"}, "spec.objective"),
    ({"targetUrls": ["https://example.com/{{workflow.uid}}"]}, "spec.targetUrls[0]"),
]


@pytest.mark.parametrize("spec", GOOD)
def test_good_workloads_pass_both_validators(spec: dict[str, Any]) -> None:
    obj = workload(**spec)
    assert api.validate(obj) == []
    assert list(CRD_VALIDATOR.iter_errors(obj)) == []


@pytest.mark.parametrize(("spec", "field"), BAD)
def test_bad_workloads_fail_both_validators_naming_the_field(spec: dict[str, Any], field: str) -> None:
    obj = workload(**spec)
    errors = api.validate(obj)
    assert errors, "validate() accepted a bad object"
    assert any(e.startswith(field + ":") for e in errors), errors
    assert list(CRD_VALIDATOR.iter_errors(obj)), "the CRD schema accepted what validate() rejects"


def test_required_fields_are_named() -> None:
    obj = workload()
    del obj["spec"]["targetUrls"], obj["spec"]["objective"]
    errors = api.validate(obj)
    assert "spec.targetUrls: required" in errors and "spec.objective: required" in errors


def test_missing_spec_is_one_clear_error() -> None:
    assert api.validate({"metadata": {"name": "x"}}) == ["spec: required (an object)"]
    assert api.validate({"metadata": {"name": "x"}, "spec": "nope"}) == ["spec: required (an object)"]


def test_unknown_field_is_named_not_silently_dropped() -> None:
    errors = api.validate(workload(targetURLs=["https://x.example"]))
    assert errors == ["spec: unknown field(s) targetURLs"]


def test_job_id_defaults_to_name_only_when_the_name_is_a_valid_job_id() -> None:
    assert api.parse(workload(name="nightly-run")).job_id == "nightly-run"
    errors = api.validate(workload(name="has.dots"))
    assert len(errors) == 1 and errors[0].startswith("spec.jobId: required because metadata.name 'has.dots'")
    assert api.parse(workload(name="has.dots", jobId="explicit")).job_id == "explicit"


def test_requests_may_not_exceed_limits() -> None:
    """Python-only (a structural schema cannot compare quantities); the pods would be refused."""
    (error,) = api.validate(workload(resources={"requests": {"memory": "2Gi"}, "limits": {"memory": "1500Mi"}}))
    assert error == "spec.resources.requests.memory: 2Gi is more than spec.resources.limits.memory (1500Mi)"
    assert api.validate(workload(resources={"requests": {"cpu": "500m"}, "limits": {"cpu": 1}})) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [("500m", "0.5"), ("1", "1"), ("1Gi", "1073741824"), ("2k", "2000"), ("1e3", "1000"), ("100n", "1E-7")],
)
def test_quantities_are_read_as_kubernetes_does(text: str, value: str) -> None:
    assert api.quantity(text) == Decimal(value)
    assert api.quantity("lots") is None


def test_single_braces_are_fine_in_the_objective() -> None:
    assert api.validate(workload(objective="Return JSON like {a: 1} {")) == []


def test_approval_must_be_shorter_than_execution() -> None:
    (error,) = api.validate(workload(timeouts={"executionSeconds": 600}))
    assert error.startswith("spec.timeouts.approvalSeconds: 3600 must be less than timeouts.executionSeconds (600)")


def test_parse_applies_the_schema_defaults() -> None:
    spec = api.parse(workload())
    assert spec.template == "visual-analysis-template"
    assert spec.threshold == 0.95
    assert (spec.execution_seconds, spec.approval_seconds) == (7200, 3600)
    assert spec.agent_image is None and spec.bucket is None and spec.resources == {}


def test_parse_raises_with_every_error() -> None:
    with pytest.raises(api.InvalidWorkload) as info:
        api.parse(workload(targetUrls=[], autoApproveThreshold=2))
    assert {e.split(":")[0] for e in info.value.errors} == {"spec.targetUrls", "spec.autoApproveThreshold"}


def test_defaults_in_python_match_the_crd_defaults() -> None:
    """apply_defaults fills exactly what the API server's defaulting would."""
    assert api.apply_defaults({"targetUrls": ["https://x.example"], "objective": "o"}) == {
        "targetUrls": ["https://x.example"],
        "objective": "o",
        "workflowTemplateRef": {"name": "visual-analysis-template"},
        "autoApproveThreshold": 0.95,
        "timeouts": {"executionSeconds": 7200, "approvalSeconds": 3600},
    }
