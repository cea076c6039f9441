"""The pure Argo core: building Workflows, reading their status, resuming and stopping."""

from __future__ import annotations

import base64
import copy
import gzip
import json
from datetime import UTC, datetime
from typing import Any

import pytest

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


def test_resources_become_a_pod_spec_patch_for_main_containers() -> None:
    assert "podSpecPatch" not in created()["spec"]
    wf = created(resources={"requests": {"cpu": "250m"}, "limits": {"cpu": "1", "memory": "512Mi"}})
    assert json.loads(wf["spec"]["podSpecPatch"]) == {
        "containers": [
            {
                "name": "main",
                "resources": {
                    "requests": {"cpu": "250m", "memory": "512Mi"},
                    "limits": {"cpu": "1", "memory": "512Mi"},
                },
            }
        ]
    }


def test_a_resource_named_on_one_side_is_set_on_both() -> None:
    """Argo merges the patch key by key over the template's resources: a request alone could
    exceed the template's limit and the API server would refuse the pod."""
    patch = json.loads(created(resources={"requests": {"cpu": "4"}})["spec"]["podSpecPatch"])
    assert patch["containers"][0]["resources"] == {"requests": {"cpu": "4"}, "limits": {"cpu": "4"}}


def test_no_secret_values_travel_as_arguments() -> None:
    """Only the five known parameters exist; none is a credential."""
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
    for _ in range(3):  # started, scraper running, scraper done
        wf = argo_sim.advance(wf) or wf
    st = argo.workflow_status(wf)
    assert st.phase == "Running" and not st.suspended and not st.completed
    assert st.current_step == "dom-extractor, screenshot-extractor"
    assert (st.nodes_total, st.nodes_succeeded, st.nodes_running, st.nodes_failed) == (3, 1, 2, 0)
    assert st.progress == "0/1"  # Argo's own progress string is taken verbatim


def test_status_at_the_gate_is_suspended_with_the_gate_as_current_step() -> None:
    st = argo.workflow_status(at_gate())
    assert st.phase == "Running" and st.suspended
    (gate,) = st.suspend_nodes
    assert gate.display_name == "approval-gate" and gate.name == "demo.approval-gate"
    assert gate.id == argo_sim.node_id("demo", "demo.approval-gate")
    assert gate.awaiting == pipeline.GATE_OUTPUTS
    assert gate.started_at == argo_sim.T0
    assert st.current_step == "approval-gate"


def test_status_collects_step_outputs_for_the_gate_policy() -> None:
    st = argo.workflow_status(at_gate(reports={"dom-extractor": {"confidence": "0.42", "elements": "7"}}))
    assert st.step_outputs["dom-extractor"] == {"confidence": "0.42", "elements": "7"}
    assert st.step_outputs["scraper"] == {"pages-fetched": "2", "pages-failed": "0"}
    assert "approval-gate" not in st.step_outputs  # still running: no outputs yet


def test_key_only_artifacts_take_the_bucket_from_the_artifact_repository() -> None:
    st = argo.workflow_status(at_gate())
    assert (
        st.artifacts["screenshot-extractor/screenshots"]
        == "s3://agentic-artifacts/job-demo/screenshot-extractor/screenshots.tgz"
    )
    assert set(st.artifacts) == {"scraper/pages", "screenshot-extractor/screenshots", "dom-extractor/dom"}


def test_artifact_bucket_falls_back_to_the_default_then_to_the_key() -> None:
    wf = at_gate()
    del wf["status"]["artifactRepositoryRef"]
    assert (
        argo.workflow_status(wf, default_bucket="fallback").artifacts["scraper/pages"]
        == "s3://fallback/job-demo/scraper/pages.tgz"
    )
    assert argo.workflow_status(wf).artifacts["scraper/pages"] == "job-demo/scraper/pages.tgz"


def test_artifact_with_its_own_bucket_keeps_it() -> None:
    wf = at_gate()
    node = wf["status"]["nodes"][argo_sim.node_id("demo", "demo.scraper")]
    node["outputs"]["artifacts"][0]["s3"]["bucket"] = "elsewhere"
    assert argo.workflow_status(wf).artifacts["scraper/pages"].startswith("s3://elsewhere/")


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


def _compressed(wf: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(wf)
    nodes = out["status"].pop("nodes")
    out["status"]["compressedNodes"] = base64.b64encode(gzip.compress(json.dumps(nodes).encode())).decode()
    return out


def test_compressed_nodes_read_like_plain_ones() -> None:
    wf = at_gate()
    assert argo.workflow_status(_compressed(wf)) == argo.workflow_status(wf)


def test_zstd_compressed_nodes_are_read() -> None:
    import zstandard

    wf = at_gate()
    out = copy.deepcopy(wf)
    nodes = out["status"].pop("nodes")
    out["status"]["compressedNodes"] = base64.b64encode(
        zstandard.ZstdCompressor().compress(json.dumps(nodes).encode())
    ).decode()
    assert argo.workflow_status(out) == argo.workflow_status(wf)


def test_unreadable_compressed_nodes_read_as_unknown_not_an_exception() -> None:
    wf = at_gate()
    wf["status"].pop("nodes")
    wf["status"]["compressedNodes"] = "!!not base64"
    st = argo.workflow_status(wf)
    assert st.nodes_total == 0 and st.nodes_error and "compressedNodes" in st.nodes_error
    assert not st.suspended  # unknown, not guessed


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
    assert gate["outputs"]["parameters"] == [
        {"name": "decision", "value": "approved"},
        {"name": "decided-by", "value": "policy"},
        {"name": "reason", "value": "confidence 0.97 >= 0.95"},
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


def test_resume_of_compressed_nodes_writes_them_compressed() -> None:
    out = argo.resume(_compressed(at_gate()), outputs=DECISION, now=NOW)
    assert "nodes" not in out["status"] and out["status"]["compressedNodes"]
    assert gate_of(out)["phase"] == "Succeeded"


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


def test_a_bad_selector_is_an_error() -> None:
    with pytest.raises(argo.ArgoError, match="invalid node field selector"):
        argo.parse_selector("displayName")


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
