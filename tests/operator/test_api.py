"""The AgentWorkload API: CRD shape, Python validation, and their agreement."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from agentic_operator import api, quantities
from testkit.factories import workload
from tests.workload_cases import CASES, Case

SCHEMA = api.crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


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
    """Every node has a type (or is int-or-string) and a description for kubectl explain
    (but apiVersion, kind and metadata, whose descriptions the server supplies)."""
    for path, node in _walk(SCHEMA):
        if node.get("x-kubernetes-int-or-string"):
            assert node["anyOf"] == [{"type": "integer"}, {"type": "string"}], path
        else:
            assert node.get("type") in {"object", "array", "string", "integer", "number", "boolean"}, path
        if path not in (".apiVersion", ".kind", ".metadata"):
            assert node.get("description"), f"{path or '(root)'} has no description"


def test_conditions_are_a_list_map_keyed_by_type() -> None:
    conditions = SCHEMA["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert set(conditions["items"]["required"]) >= {"type", "status", "lastTransitionTime", "reason", "message"}


def test_cel_rules_say_what_a_structural_schema_cannot() -> None:
    """Immutability, the timeout order, the job id from the name, bounded quantities within
    limits (tests/cluster/test_crd.py shows the server enforcing each)."""
    spec = SCHEMA["properties"]["spec"]
    rules = [r["rule"] for r in spec["x-kubernetes-validations"]]
    assert rules == ["self == oldSelf", "self.timeouts.approvalSeconds < self.timeouts.executionSeconds"]
    (root,) = SCHEMA["x-kubernetes-validations"]
    assert root["fieldPath"] == ".spec.jobId" and api.JOB_ID_PATTERN in root["rule"]
    resources = spec["properties"]["resources"]
    assert [r["fieldPath"] for r in resources["x-kubernetes-validations"]] == [
        ".requests.cpu",
        ".requests.memory",
        ".requests['ephemeral-storage']",
    ]
    for kind in ("requests", "limits"):
        for resource, node in resources["properties"][kind]["properties"].items():
            assert node["x-kubernetes-validations"][0]["rule"] == quantities.cel_bounds(resource)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_validate_names_the_fields_of_each_case(case: Case) -> None:
    """The table the real API server is held to as well (tests/cluster/test_crd.py)."""
    errors = api.validate(case.workload())
    assert sorted({e.split(": ", 1)[0] for e in errors}) == sorted(set(case.fields)), errors


def test_required_fields_are_named() -> None:
    obj = workload()
    del obj["spec"]["targetUrls"], obj["spec"]["objective"]
    errors = api.validate(obj)
    assert "spec.targetUrls: required" in errors and "spec.objective: required" in errors


def test_missing_spec_is_one_clear_error() -> None:
    assert api.validate({"metadata": {"name": "x"}}) == ["spec: required (an object)"]
    assert api.validate({"metadata": {"name": "x"}, "spec": "nope"}) == ["spec: required (an object)"]


def test_unknown_field_is_named_not_silently_dropped() -> None:
    errors = api.validate(workload(targetURLs=["https://x.example"], timeouts={"approval": 30}))
    assert errors == ["spec.targetURLs: unknown field", "spec.timeouts.approval: unknown field"]


def test_job_id_defaults_to_name_only_when_the_name_is_a_valid_job_id() -> None:
    assert api.parse(workload(name="nightly-run")).job_id == "nightly-run"
    errors = api.validate(workload(name="has.dots"))
    assert len(errors) == 1 and errors[0].startswith("spec.jobId: required because metadata.name 'has.dots'")
    (long,) = api.validate(workload(name="a" * 64))
    assert long.startswith("spec.jobId: required because metadata.name")
    assert api.parse(workload(name="has.dots", jobId="explicit")).job_id == "explicit"


def test_requests_may_not_exceed_limits() -> None:
    """The API server would refuse every agent pod (a CEL rule in the CRD says the same)."""
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


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("-1Gi", "is out of range (1 to 16Ti)"),
        ("1e400", "is out of range (1 to 16Ti)"),  # capped at int64 as Kubernetes caps it, then too big
        ("500m", "is out of range (1 to 16Ti)"),  # half a byte
        ("1e99999999999999999999", "is not a Kubernetes quantity"),
        ("1Gi ", "is not a Kubernetes quantity"),
        (1.0, "is not a Kubernetes quantity"),
        (True, "is not a Kubernetes quantity"),
    ],
)
def test_memory_is_bounded(value: Any, problem: str) -> None:
    """No negative, absurd or sub-unit amount reaches the Workflow's pod spec patch."""
    assert quantities.out_of_bounds("memory", value) == problem
    assert quantities.out_of_bounds("memory", "1Gi") is None


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


def test_messages_are_short_whatever_the_value() -> None:
    """A status condition is at most 32 KiB: a message shows an excerpt, not the value."""
    errors = api.validate(workload(targetUrls=["x" * 100_000], objective={"x" * 100_000: 1}))
    assert {e.split(": ", 1)[0] for e in errors} == {"spec.targetUrls[0]", "spec.objective"}
    assert all(len(e) < 500 for e in errors), [len(e) for e in errors]


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ("a string", "metadata: 'a string' is not an object"),
        (None, "metadata: None is not an object"),
        ([], "metadata: [] is not an object"),
        ({"name": "demo", "annotations": ["approved"]}, "metadata.annotations: ['approved'] is not a map of strings"),
        ({"name": "demo", "labels": {"a": 1}}, "metadata.labels: {'a': 1} is not a map of strings"),
        ({"name": "demo", "generation": "abc"}, "metadata.generation: 'abc' is not an integer"),
        ({"name": 5}, "metadata.name: 5 is not a string"),
        (
            {"name": "demo", "annotations": {"a\udc00": "b"}},
            "metadata.annotations: contains a lone surrogate (U+DC00), not Unicode text",
        ),
    ],
)
def test_malformed_metadata_is_named(metadata: Any, message: str) -> None:
    """Shapes the API server guarantees, checked where the operator reads them."""
    obj = {**workload(), "metadata": metadata}
    assert message in api.validate(obj)


def test_a_status_keeps_only_fields_of_its_schema_shape() -> None:
    status = {
        "phase": ["Running"],
        "conditions": 5,
        "decisions": [{"stage": "admission", "allowed": True, "time": "2026-11-26T10:00:00Z"}],
        "argoWorkflow": "demo",
        "message": "kept",
        "invented": 1,
    }
    assert api.readable_status(status) == {"decisions": status["decisions"], "message": "kept"}
    assert api.readable_status("garbage") == {}
