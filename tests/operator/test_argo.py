"""The pure Argo core: building Workflows, reading their status, resuming and stopping."""

from __future__ import annotations

import base64
import copy
import gzip
import json
from datetime import UTC, datetime
from typing import Any

import brotli
import pytest
import zstandard

from agentic_contract import pipeline
from agentic_operator import argo
from agentic_operator.settings import Settings
from testkit import argo_sim
from testkit.factories import workflow, workload

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def created(**spec: Any) -> dict[str, Any]:
    return workflow(workload(**spec))


def at_gate(**kwargs: Any) -> dict[str, Any]:
    return argo_sim.run_until_gate(created(), **kwargs)


# --- build_workflow ---------------------------------------------------------------------


def test_workflow_lives_in_the_workloads_namespace_and_is_owned_by_it() -> None:
    """Owner references never cross namespaces, so the Workflow sits beside its workload."""
    wl = workload(name="demo", namespace="team-a", uid="u-1")
    wf = workflow(wl)
    assert wf["apiVersion"] == "argoproj.io/v1alpha1" and wf["kind"] == "Workflow"
    assert wf["metadata"]["namespace"] == "team-a"
    assert wf["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "agentic.dev/v1alpha1",
            "kind": "AgentWorkload",
            "name": "demo",
            "uid": "u-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def test_workflow_name_is_deterministic_from_the_job_id() -> None:
    assert workflow(workload(name="demo"))["metadata"]["name"] == "demo"
    assert workflow(workload(name="demo", jobId="nightly-7"))["metadata"]["name"] == "nightly-7"
    assert workflow(workload()) == workflow(workload())


def test_workflow_labels_link_it_to_the_workload() -> None:
    meta = workflow(workload(name="demo", jobId="j1"))["metadata"]
    assert meta["labels"] == {"app.kubernetes.io/managed-by": "agentic-operator", "agentic.dev/job-id": "j1"}
    assert meta["annotations"] == {"agentic.dev/workload": "demo"}


def test_workflow_references_the_template_and_passes_arguments() -> None:
    wf = created(
        targetUrls=["https://a.example/", "https://b.example/x"],
        objective="Find the prices",
        workflowTemplateRef={"name": "custom"},
        agentImage="registry.example/agent:2",
        minioBucket="team-bucket",
    )
    assert wf["spec"]["workflowTemplateRef"] == {"name": "custom"}
    params = {p["name"]: p["value"] for p in wf["spec"]["arguments"]["parameters"]}
    assert params == {
        "job-id": "demo",
        "target-urls": '["https://a.example/", "https://b.example/x"]',
        "objective": "Find the prices",
        "agent-image": "registry.example/agent:2",
        "bucket": "team-bucket",
        "resources": "{}",
    }
    assert json.loads(params["target-urls"]) == ["https://a.example/", "https://b.example/x"]
    assert set(params) == set(pipeline.WORKFLOW_PARAMETERS)


def test_platform_defaults_fill_image_and_bucket() -> None:
    settings = Settings(default_agent_image="reg/agent:9", default_bucket="platform-bucket")
    params = {p["name"]: p["value"] for p in workflow(workload(), settings)["spec"]["arguments"]["parameters"]}
    assert (params["agent-image"], params["bucket"]) == ("reg/agent:9", "platform-bucket")


def test_execution_timeout_is_the_active_deadline() -> None:
    wf = created(timeouts={"executionSeconds": 900, "approvalSeconds": 600})
    assert wf["spec"]["activeDeadlineSeconds"] == 900


def _arguments(wf: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in wf["spec"]["arguments"]["parameters"]}


# What ValidateUserOverrides (workflow/util/merge.go, v4.0.5) lets a Workflow set under
# templateReferencing Strict or Secure, as JSON field names.
STRICT_ALLOWED = {
    "arguments", "entrypoint", "shutdown", "suspend", "activeDeadlineSeconds", "priority", "ttlStrategy",
    "podGC", "volumeClaimGC", "archiveLogs", "workflowMetadata", "workflowTemplateRef", "metrics", "artifactGC",
}  # fmt: skip


def test_the_workflow_spec_sets_only_what_strict_template_referencing_allows() -> None:
    """A controller with templateReferencing Strict or Secure marks a Workflow that sets any
    other field Error (podSpecPatch among them); tests/cluster proves it on the real one."""
    for wl in (workload(), workload(resources={"requests": {"cpu": "250m"}, "limits": {"memory": "1Gi"}})):
        assert set(workflow(wl)["spec"]) <= STRICT_ALLOWED


def test_resources_travel_as_the_templates_resources_parameter() -> None:
    assert _arguments(created())["resources"] == "{}"  # the template's own resources
    wf = created(resources={"requests": {"cpu": "250m"}, "limits": {"cpu": "1", "memory": "512Mi"}})
    assert "podSpecPatch" not in wf["spec"]
    assert json.loads(_arguments(wf)["resources"]) == {
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"cpu": "1", "memory": "512Mi"},
    }


def test_a_resource_named_on_one_side_is_set_on_both() -> None:
    """Argo merges the patch key by key over the template's resources: a request alone could
    exceed the template's limit and the API server would refuse the pod."""
    resources = json.loads(_arguments(created(resources={"requests": {"cpu": "4"}}))["resources"])
    assert resources == {"requests": {"cpu": "4"}, "limits": {"cpu": "4"}}


def test_no_secret_values_travel_as_arguments() -> None:
    """Only the known parameters exist; none is a credential."""
    names = {p["name"] for p in created()["spec"]["arguments"]["parameters"]}
    assert not {n for n in names if any(s in n for s in ("key", "secret", "password", "dsn", "token"))}


def test_build_refuses_an_invalid_workload() -> None:
    with pytest.raises(ValueError, match=r"spec\.targetUrls"):
        workflow(workload(targetUrls=[]))


def test_is_owned_by_compares_uids() -> None:
    wf = workflow(workload(uid="a"))
    assert argo.is_owned_by(wf, workload(uid="a"))
    assert not argo.is_owned_by(wf, workload(uid="b"))


# --- workflow_status --------------------------------------------------------------------


def test_status_of_nothing_is_unknown() -> None:
    values: list[Any] = [None, {}, {"status": "garbage"}, {"status": {"nodes": "x", "phase": 3}}, []]
    for value in values:
        st = argo.workflow_status(value)
        assert st.phase == "" and not st.suspended and st.nodes_total == 0


def test_status_while_running_reports_progress_and_current_step() -> None:
    wf = created()
    for _ in range(2):  # scraper running, scraper done and the extractors running
        wf = argo_sim.advance(wf) or wf
    st = argo.workflow_status(wf)
    assert st.phase == "Running" and not st.suspended and not st.completed
    assert st.current_step == "dom-extractor, screenshot-extractor"
    assert (st.nodes_total, st.nodes_succeeded, st.nodes_running, st.nodes_failed) == (3, 1, 2, 0)
    assert st.progress == "1/3"  # Argo's own progress string is taken verbatim


def test_status_at_the_gate_is_suspended_with_the_gate_as_current_step() -> None:
    st = argo.workflow_status(at_gate())
    assert st.phase == "Running" and st.suspended
    (gate,) = st.suspend_nodes
    assert gate.display_name == "approval-gate" and gate.name == "demo.approval-gate"
    assert gate.id == argo_sim.node_id("demo", "demo.approval-gate")
    assert gate.awaiting == pipeline.GATE_OUTPUTS
    assert gate.started_at == "2026-11-26T10:00:05Z"  # as recorded: 5 s after the Workflow was created
    assert st.current_step == "approval-gate" and st.progress == "3/4"  # the waiting gate counts


def test_status_collects_step_outputs_for_the_gate_policy() -> None:
    st = argo.workflow_status(at_gate(reports={"dom-extractor": {"confidence": "0.42", "elements": "7"}}))
    assert st.step_outputs["dom-extractor"] == {"confidence": "0.42", "elements": "7"}
    assert st.step_outputs["scraper"] == {"pages-fetched": "1", "pages-failed": "0"}
    assert "approval-gate" not in st.step_outputs  # still running: no outputs yet


def key_only(wf: dict[str, Any]) -> dict[str, Any]:
    """Artifacts as newer controllers record them for templates without a location: the key."""
    for node in argo.nodes_of(wf).values():
        for artifact in (node.get("outputs") or {}).get("artifacts") or []:
            artifact["s3"] = {"key": artifact["s3"]["key"]}
    return wf


def test_artifacts_are_the_full_s3_locations_the_template_declares() -> None:
    st = argo.workflow_status(at_gate())
    assert st.artifacts == {
        "scraper/pages": "s3://agentic-artifacts/team-a/demo/scraper/pages.tgz",
        "screenshot-extractor/images": "s3://agentic-artifacts/team-a/demo/screenshot-extractor/images.tgz",
        "dom-extractor/dom": "s3://agentic-artifacts/team-a/demo/dom-extractor/dom.tgz",
    }


def test_two_teams_jobs_of_one_name_never_share_keys() -> None:
    """Keys lie under ``<namespace>/<job-id>/`` (the recording's, replayed for each Workflow)."""
    team_a, team_b = (
        argo.workflow_status(argo_sim.run_until_gate(workflow(workload(namespace=ns, jobId="weekly"))))
        for ns in ("team-a", "team-b")
    )
    assert team_b.artifacts["scraper/pages"] == "s3://agentic-artifacts/team-b/weekly/scraper/pages.tgz"
    assert team_a.artifacts["scraper/pages"] == "s3://agentic-artifacts/team-a/weekly/scraper/pages.tgz"
    assert not set(team_a.artifacts.values()) & set(team_b.artifacts.values())


def test_key_only_artifacts_take_the_bucket_from_the_artifact_repository() -> None:
    st = argo.workflow_status(key_only(at_gate()))
    assert st.artifacts["screenshot-extractor/images"] == (
        "s3://agentic-artifacts/team-a/demo/screenshot-extractor/images.tgz"
    )


def test_artifact_bucket_falls_back_to_the_default_then_to_the_key() -> None:
    wf = key_only(at_gate())
    del wf["status"]["artifactRepositoryRef"]
    assert (
        argo.workflow_status(wf, default_bucket="fallback").artifacts["scraper/pages"]
        == "s3://fallback/team-a/demo/scraper/pages.tgz"
    )
    assert argo.workflow_status(wf).artifacts["scraper/pages"] == "team-a/demo/scraper/pages.tgz"


def test_artifact_with_its_own_full_location_keeps_its_bucket() -> None:
    wf = at_gate()
    node = wf["status"]["nodes"][argo_sim.node_id("demo", "demo.scraper")]
    node["outputs"]["artifacts"][0]["s3"].update(bucket="elsewhere", endpoint="s3.example:9000")
    assert argo.workflow_status(wf).artifacts["scraper/pages"].startswith("s3://elsewhere/")


def test_a_bucket_without_an_endpoint_is_no_location_and_is_relocated() -> None:
    """``S3Artifact.HasLocation`` needs endpoint, bucket and key; otherwise ``Relocate`` keeps
    only the key."""
    wf = key_only(at_gate())
    node = wf["status"]["nodes"][argo_sim.node_id("demo", "demo.scraper")]
    node["outputs"]["artifacts"][0]["s3"]["bucket"] = "elsewhere"
    assert argo.workflow_status(wf).artifacts["scraper/pages"].startswith(f"s3://{argo_sim.BUCKET}/")


ARCHIVE = {"s3": {"endpoint": "minio:9000", "bucket": "archive-bucket", "key": "archive", "insecure": True}}


def _archived(wf: dict[str, Any], where: str, archive: dict[str, Any] = ARCHIVE) -> dict[str, Any]:
    """``wf`` whose scraper template has an ``archiveLocation``, in the Workflow's own
    templates (``spec``) or in the referenced WorkflowTemplate's copy (``stored``)."""
    template = {"name": pipeline.STEP_SCRAPER, "archiveLocation": archive, "container": {"image": "agent"}}
    if where == "spec":
        wf["spec"]["templates"] = [template]
    else:
        wf["status"]["storedWorkflowTemplateSpec"] = {"entrypoint": "main", "templates": [template]}
    return wf


@pytest.mark.parametrize("where", ["spec", "stored"])
def test_key_only_artifacts_go_to_their_templates_archive_location(where: str) -> None:
    """Argo prefers the template's own full ``archiveLocation`` to the artifact repository
    (its ``artgcWorkflow`` test object keeps ``on-deletion`` in my-bucket-3 this way)."""
    st = argo.workflow_status(_archived(key_only(at_gate()), where))
    assert st.artifacts["scraper/pages"] == "s3://archive-bucket/team-a/demo/scraper/pages.tgz"
    assert st.artifacts["dom-extractor/dom"].startswith(f"s3://{argo_sim.BUCKET}/")  # no archiveLocation


def test_an_archive_location_without_a_key_is_no_location() -> None:
    """``archiveLocation: {archiveLogs: true}`` or an s3 block without a key: the repository."""
    for archive in ({"archiveLogs": True}, {"s3": {"endpoint": "minio:9000", "bucket": "archive-bucket"}}):
        st = argo.workflow_status(_archived(key_only(at_gate()), "stored", archive))
        assert st.artifacts["scraper/pages"].startswith(f"s3://{argo_sim.BUCKET}/")


def test_a_template_ref_names_the_template_whose_archive_location_counts() -> None:
    wf = _archived(key_only(at_gate()), "stored")
    node = wf["status"]["nodes"][argo_sim.node_id("demo", "demo.scraper")]
    node["templateName"] = "other"
    node["templateRef"] = {"name": "library", "template": pipeline.STEP_SCRAPER}
    assert argo.workflow_status(wf).artifacts["scraper/pages"].startswith("s3://archive-bucket/")


def test_spec_suspend_alone_means_suspended_when_running() -> None:
    wf = created()
    wf["spec"]["suspend"] = True
    wf["status"] = {"phase": "Running"}
    assert argo.workflow_status(wf).suspended
    wf["status"]["phase"] = "Pending"
    assert not argo.workflow_status(wf).suspended


def test_a_finished_workflow_is_never_suspended() -> None:
    wf = at_gate()
    wf["status"]["phase"] = "Failed"
    assert not argo.workflow_status(wf).suspended and argo.workflow_status(wf).completed


def test_retry_node_counts_once_and_its_attempts_are_not_steps() -> None:
    wf = at_gate()
    nodes = wf["status"]["nodes"]
    scraper_id = argo_sim.node_id("demo", "demo.scraper")
    attempt = copy.deepcopy(nodes[scraper_id])
    attempt.update(id="demo-1", name="demo.scraper(0)", displayName="scraper(0)", phase="Failed")
    nodes[scraper_id]["type"] = "Retry"
    nodes[scraper_id]["children"] = ["demo-1"]
    nodes["demo-1"] = attempt
    st = argo.workflow_status(wf)
    assert st.nodes_total == 4 and st.nodes_failed == 0
    assert "scraper" in st.step_outputs and "scraper(0)" not in st.step_outputs


def test_progress_is_computed_when_argo_did_not_report_it() -> None:
    wf = at_gate()
    del wf["status"]["progress"]
    assert argo.workflow_status(wf).progress == "3/4"


# Argo's compressors, by the name WORKFLOW_COMPRESSION_ALGORITHM gives them.
PACK = {"gzip": gzip.compress, "zstd": zstandard.ZstdCompressor().compress, "brotli": brotli.compress}
UNPACK = {
    "gzip": gzip.decompress,
    "zstd": lambda raw: zstandard.ZstdDecompressor().decompressobj().decompress(raw),
    "brotli": brotli.decompress,
}


def _compressed(wf: dict[str, Any], algorithm: str = "gzip") -> dict[str, Any]:
    """``wf`` with its nodes moved into ``status.compressedNodes``, as Argo's packer does."""
    out = copy.deepcopy(wf)
    nodes = out["status"].pop("nodes")
    out["status"]["compressedNodes"] = base64.b64encode(PACK[algorithm](json.dumps(nodes).encode())).decode()
    return out


def _unpacked(wf: dict[str, Any], algorithm: str) -> dict[str, Any]:
    nodes: dict[str, Any] = json.loads(UNPACK[algorithm](base64.b64decode(wf["status"]["compressedNodes"])))
    return nodes


@pytest.mark.parametrize("algorithm", sorted(PACK))
def test_compressed_nodes_read_like_plain_ones(algorithm: str) -> None:
    """Argo v4.1 writes gzip, zstd or brotli (WORKFLOW_COMPRESSION_ALGORITHM); brotli has no
    magic bytes, so Argo reads whatever is neither gzip nor zstd as brotli."""
    wf = at_gate()
    assert argo.workflow_status(_compressed(wf, algorithm)) == argo.workflow_status(wf)


# A zstd frame whose block is corrupt: zstandard raises its own ZstdError for it.
BROKEN_ZSTD = base64.b64encode(bytes.fromhex("28b52ffd206dffffffffffffffff3a202262227d010020055c")).decode()


@pytest.mark.parametrize("garbage", ["!!not base64", BROKEN_ZSTD, "AAAA"])
def test_unreadable_compressed_nodes_read_as_unknown_not_an_exception(garbage: str) -> None:
    """Not base64, a corrupt zstd frame, bytes that are no brotli stream: all read as unknown."""
    wf = at_gate()
    wf["status"].pop("nodes")
    wf["status"]["compressedNodes"] = garbage
    st = argo.workflow_status(wf)
    assert st.nodes_total == 0 and st.nodes_error and "compressedNodes" in st.nodes_error
    assert not st.suspended  # unknown, not guessed
    with pytest.raises(argo.ArgoError, match="compressedNodes unreadable"):
        argo.resume(wf, outputs=DECISION, now=NOW)


def test_offloaded_nodes_are_flagged() -> None:
    wf = at_gate()
    wf["status"].pop("nodes")
    wf["status"]["offloadNodeStatusVersion"] = "fnv:123"
    st = argo.workflow_status(wf)
    assert st.offloaded and st.nodes_error and "Argo Server" in st.nodes_error


def test_shutdown_is_reported() -> None:
    wf = at_gate()
    wf["spec"]["shutdown"] = "Stop"
    assert argo.workflow_status(wf).shutdown == "Stop"


# --- resume -----------------------------------------------------------------------------

DECISION = {"decision": "approved", "decided-by": "policy", "reason": "confidence 0.97 >= 0.95"}


def gate_of(wf: dict[str, Any]) -> dict[str, Any]:
    return argo.nodes_of(wf)[argo_sim.node_id("demo", "demo.approval-gate")]


def test_resume_marks_the_gate_succeeded_with_supplied_outputs() -> None:
    wf = at_gate()
    out = argo.resume(wf, node_selector="displayName=approval-gate", outputs=DECISION, now=NOW)
    gate = gate_of(out)
    assert gate["phase"] == "Succeeded" and gate["finishedAt"] == "2026-11-26T12:00:00Z"
    described = {
        "description": "approved or rejected; synthesis runs only when approved.",
        "enum": ["approved", "rejected"],
    }
    assert gate["outputs"]["parameters"] == [  # Argo copied enum and description from the template
        {"name": "decision", "value": "approved", **described},
        {
            "name": "decided-by",
            "value": "policy",
            "description": "Who decided: the gate policy, or the approving human.",
        },
        {"name": "reason", "value": "confidence 0.97 >= 0.95", "description": "Why."},
    ]
    assert not argo.workflow_status(out).suspended


def test_resume_leaves_its_input_unmodified() -> None:
    wf = at_gate()
    before = copy.deepcopy(wf)
    argo.resume(wf, outputs=DECISION, now=NOW)
    assert wf == before


def test_resume_keeps_resource_version_for_the_full_update() -> None:
    wf = at_gate()
    wf["metadata"]["resourceVersion"] = "42"
    assert argo.resume(wf, outputs=DECISION, now=NOW)["metadata"]["resourceVersion"] == "42"


def test_resume_changes_only_the_gate_node() -> None:
    wf = at_gate()
    out = argo.resume(wf, outputs=DECISION, now=NOW)
    gate_id = argo_sim.node_id("demo", "demo.approval-gate")
    assert {k: v for k, v in argo.nodes_of(out).items() if k != gate_id} == {
        k: v for k, v in argo.nodes_of(wf).items() if k != gate_id
    }
    assert out["status"]["phase"] == "Running"  # the controller, not us, moves the workflow on


def test_resume_without_a_value_for_a_supplied_output_fails_like_argo() -> None:
    with pytest.raises(argo.ArgoError, match=r"'decision' .* has not been set and does not have a default"):
        argo.resume(at_gate(), now=NOW)


def test_a_selector_resume_refuses_an_unset_decision_where_argo_would_pass_it() -> None:
    """The deliberate departure: Argo's ``updateSuspendedNode`` marks the node Succeeded and
    leaves a supplied parameter without a value unset; the gate must never pass undecided."""
    others = {k: v for k, v in DECISION.items() if k != pipeline.GATE_DECISION}
    with pytest.raises(argo.ArgoError, match=r"'decision' .* has not been set and does not have a default"):
        argo.resume(at_gate(), node_selector="displayName=approval-gate", outputs=others, now=NOW)


def test_resume_uses_a_default_for_supplied_outputs_not_given() -> None:
    wf = at_gate()
    for param in gate_of(wf)["outputs"]["parameters"]:
        param["valueFrom"]["default"] = "n/a"
    out = argo.resume(wf, outputs={"decision": "approved"}, now=NOW)
    assert [p["value"] for p in gate_of(out)["outputs"]["parameters"]] == ["approved", "n/a", "n/a"]


def test_resume_refuses_outputs_the_gate_does_not_expect() -> None:
    with pytest.raises(argo.ArgoError, match="not expecting output parameter 'colour'"):
        argo.resume(at_gate(), outputs={**DECISION, "colour": "red"}, now=NOW)


def test_resume_with_a_selector_that_matches_nothing_is_an_error() -> None:
    with pytest.raises(argo.ArgoError, match="no active suspend node"):
        argo.resume(at_gate(), node_selector="displayName=other", outputs=DECISION, now=NOW)


def test_resume_without_selector_clears_spec_suspend() -> None:
    wf = at_gate()
    wf["spec"]["suspend"] = True
    out = argo.resume(wf, outputs=DECISION, now=NOW)
    assert "suspend" not in out["spec"]
    with_selector = argo.resume(wf, node_selector="displayName=approval-gate", outputs=DECISION, now=NOW)
    assert with_selector["spec"]["suspend"] is True  # as argo resume --node-field-selector


def test_resume_publishes_global_outputs() -> None:
    wf = at_gate()
    gate_of(wf)["outputs"]["parameters"][0]["globalName"] = "gate-decision"
    out = argo.resume(wf, outputs=DECISION, now=NOW)
    assert out["status"]["outputs"]["parameters"] == [{"name": "gate-decision", "value": "approved"}]


def test_resume_appends_a_message() -> None:
    out = argo.resume(at_gate(), outputs=DECISION, now=NOW, message="approved by policy")
    assert gate_of(out)["message"] == "approved by policy"


def _gate_with_message() -> dict[str, Any]:
    wf = at_gate()
    gate_of(wf)["message"] = "waiting for a decision"
    return wf


def test_resume_with_a_selector_replaces_the_message_like_updatesuspendednode() -> None:
    """Argo's ``updateSuspendedNode`` (``argo node set``, ``argo resume --node-field-selector``)
    sets the message it is given; only the selector-less ``ResumeWorkflow`` appends."""
    selected = argo.resume(
        _gate_with_message(), node_selector="displayName=approval-gate", outputs=DECISION, now=NOW, message="approved"
    )
    assert gate_of(selected)["message"] == "approved"
    every = argo.resume(_gate_with_message(), outputs=DECISION, now=NOW, message="approved")
    assert gate_of(every)["message"] == "waiting for a decision; approved"
    untouched = argo.resume(_gate_with_message(), node_selector="displayName=approval-gate", outputs=DECISION, now=NOW)
    assert gate_of(untouched)["message"] == "waiting for a decision"  # no message given, none set


@pytest.mark.parametrize("algorithm", sorted(PACK))
def test_resume_writes_compressed_nodes_back_with_the_algorithm_they_came_in(algorithm: str) -> None:
    """The controller chose to compress (its MAX_WORKFLOW_SIZE) and how (its algorithm, the
    one it is known to read: v4.0 reads only gzip); a resume keeps both choices."""
    out = argo.resume(_compressed(at_gate(), algorithm), outputs=DECISION, now=NOW)
    assert "nodes" not in out["status"]
    gate = _unpacked(out, algorithm)[argo_sim.node_id("demo", "demo.approval-gate")]
    decision = gate["outputs"]["parameters"][0]
    assert gate["phase"] == "Succeeded" and (decision["name"], decision["value"]) == ("decision", "approved")


def test_resume_writes_plain_nodes_back_plain() -> None:
    out = argo.resume(at_gate(), outputs=DECISION, now=NOW)
    assert "compressedNodes" not in out["status"] and gate_of(out)["phase"] == "Succeeded"


def test_resume_of_offloaded_nodes_says_only_the_argo_server_can() -> None:
    wf = at_gate()
    wf["status"].pop("nodes")
    wf["status"]["offloadNodeStatusVersion"] = "fnv:1"
    with pytest.raises(argo.OffloadedNodesError, match="Argo Server"):
        argo.resume(wf, outputs=DECISION, now=NOW)
    assert argo.can_resume(wf)  # so the manager calls resume() and reports this error


@pytest.mark.parametrize(
    ("selector", "hit"),
    [
        ("displayName=approval-gate", True),
        ("displayName==approval-gate", True),
        ("displayName!=approval-gate", False),
        ("templateName=approval-gate,phase=Running", True),
        ("name=demo.approval-gate", True),
        ("phase=Succeeded", False),
    ],
)
def test_node_field_selectors_match_as_argo_does(selector: str, hit: bool) -> None:
    assert argo.matches(gate_of(at_gate()), selector) is hit


@pytest.mark.parametrize(
    ("selector", "terms"),
    [
        ("a=b,c!=d", [("a", "b", True), ("c", "d", False)]),
        ("a==b", [("a", "b", True)]),
        ("a=!b", [("a", "!b", True)]),  # the first operator wins: "=" at 1, not "!=" at 2
        ("a!b=c", [("a!b", "c", True)]),  # the field is taken verbatim
        ("=x", [("", "x", True)]),
        ("a=", [("a", "", True)]),
        (r"a=x\,y", [("a", "x,y", True)]),
        (r"a=k\=v", [("a", "k=v", True)]),
        (r"a=c:\\tmp", [("a", "c:\\tmp", True)]),
        (r"a\,b=c", [("a\\,b", "c", True)]),  # an escaped comma in a field does not split
        ("a=b,,c=d,", [("a", "b", True), ("c", "d", True)]),  # empty terms are skipped
        ("a = b", [("a ", " b", True)]),  # nothing is trimmed
        ("", []),
    ],
)
def test_selectors_parse_as_kubernetes_fields_parse_selector(selector: str, terms: list[tuple[str, str, bool]]) -> None:
    assert argo.parse_selector(selector) == terms


@pytest.mark.parametrize(
    ("selector", "why"),
    [
        ("displayName", "no =, == or !="),
        (" ", "no =, == or !="),  # a blank term is not empty: Argo refuses it too
        ("a=b=c", "must be escaped"),
        ("a==b=c", "must be escaped"),
        (r"a=\n", r"unknown escape \n"),
        ("a=b\\", "lone backslash"),
    ],
)
def test_a_bad_selector_is_an_error_naming_the_term(selector: str, why: str) -> None:
    with pytest.raises(argo.ArgoError, match="invalid node field selector term") as refused:
        argo.parse_selector(selector)
    assert why in str(refused.value)


def test_escaped_values_match_nodes_whose_fields_hold_commas_and_equals() -> None:
    node = {
        "type": "Suspend",
        "phase": "Running",
        "displayName": "gate,eu",
        "inputs": {"parameters": [{"name": "filter", "value": "region=eu"}]},
    }
    assert argo.matches(node, r"displayName=gate\,eu")
    assert argo.matches(node, r"inputs.parameters.filter.value=region\=eu,phase=Running")
    assert not argo.matches(node, "displayName=gate")


def test_a_selector_with_spaces_matches_nothing_as_in_argo() -> None:
    """Kubernetes trims nothing: "displayName = approval-gate" names the field "displayName "."""
    gate = gate_of(at_gate())
    assert argo.matches(gate, "displayName=approval-gate")
    assert not argo.matches(gate, "displayName = approval-gate")
    assert not argo.matches(gate, "displayName=approval-gate ")
    with pytest.raises(argo.ArgoError, match="no active suspend node"):
        argo.resume(at_gate(), node_selector=" displayName=approval-gate", outputs=DECISION, now=NOW)


def test_can_resume_only_a_running_suspended_workflow() -> None:
    wf = at_gate()
    assert argo.can_resume(wf) and argo.can_resume(wf, "displayName=approval-gate")
    assert not argo.can_resume(wf, "displayName=synthesis")
    assert not argo.can_resume(argo.resume(wf, outputs=DECISION, now=NOW))
    wf["status"]["phase"] = "Failed"
    assert not argo.can_resume(wf)


# --- stop -------------------------------------------------------------------------------


def test_stop_is_the_merge_patch_argo_uses() -> None:
    assert argo.stop() == {"spec": {"shutdown": "Stop"}}


def test_a_template_ref_names_the_template_a_selector_matches() -> None:
    """Argo's GetTemplateFromNode: templateRef.template wins over templateName."""
    node = {
        "type": "Suspend",
        "phase": "Running",
        "templateName": "local",
        "templateRef": {"name": "lib", "template": "gate"},
    }
    assert argo.matches(node, "templateName=gate") and not argo.matches(node, "templateName=local")
    assert argo.matches(node, "templateRef.name=lib")
