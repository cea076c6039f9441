"""The operator reads Argo's own test Workflows the way Argo does (../shared/argo-fixtures).

Expected values come from the corpus README's table (phase, and suspended as `argo list`
shows it) and from Argo's resume rules. Skipped only when the corpus is absent.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentic_operator import argo

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "argo-fixtures"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"{CORPUS} not present")

# file prefix -> (phase, suspended), from the corpus README.
EXPECTED = {
    "01": ("Running", False),
    "02": ("Pending", False),
    "03": ("Running", False),
    "04": ("Running", True),
    "06": ("Running", True),
    "07": ("Succeeded", False),
    "08": ("Succeeded", False),
    "10": ("Failed", False),
    "11": ("Error", False),
    "13": ("Running", False),
}


def load(prefix: str) -> dict[str, Any]:
    (path,) = CORPUS.glob(f"{prefix}-*.yaml")
    doc: dict[str, Any] = yaml.safe_load(path.read_text())
    return doc


def test_the_corpus_is_the_one_described() -> None:
    assert sorted(p.name[:2] for p in CORPUS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_phase_and_suspended_as_argo_reports_them(prefix: str) -> None:
    st = argo.workflow_status(load(prefix))
    assert (st.phase, st.suspended) == EXPECTED[prefix]
    assert st.completed == (st.phase in {"Succeeded", "Failed", "Error"})


def test_all_nodes_succeeded_is_not_completed() -> None:
    """03: every node Succeeded but the workflow phase is Running: never call it done."""
    st = argo.workflow_status(load("03"))
    assert st.nodes_succeeded == st.nodes_total > 0 and not st.completed


def test_key_only_artifacts_resolve_through_the_artifact_repository() -> None:
    st = argo.workflow_status(load("03"))
    assert st.artifacts and all(url.startswith("s3://my-bucket/") for url in st.artifacts.values())


def test_full_s3_artifacts_keep_their_own_bucket() -> None:
    st = argo.workflow_status(load("07"))
    assert st.artifacts["call-first/first-on-completion-1"] == "s3://my-bucket-2/first-on-completion-1"
    # Key-only, and its template ("second") has a full archiveLocation, which Argo prefers
    # to the repository's bucket (my-bucket): artifact_server.go getArtifactAndDriver.
    assert st.artifacts["call-second/on-deletion"] == "s3://my-bucket-3/on-deletion"
    # Key-only in a template without an archiveLocation: the repository's bucket.
    assert st.artifacts["call-first/main-logs"].startswith("s3://my-bucket/")


def test_stopping_workflow_reports_its_shutdown() -> None:
    st = argo.workflow_status(load("13"))
    assert st.shutdown == "Stop" and st.phase == "Running" and not st.completed


def test_resume_of_fixture_04_follows_argos_rules() -> None:
    """The Running Suspend node becomes Succeeded with finishedAt now and supplied outputs;
    the globalName output is published; nothing else changes."""
    wf = load("04")
    now = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    out = argo.resume(wf, outputs={"message": "hello", "message2": "world"}, now=now)
    node = out["status"]["nodes"]["suspend-template-kgfn7-2667278707"]
    assert node["phase"] == "Succeeded" and node["finishedAt"] == "2026-11-26T09:30:00Z"
    assert node["outputs"]["parameters"] == [
        {"name": "message", "value": "hello"},
        {"name": "message2", "globalName": "message-global-param", "value": "world"},
    ]
    assert out["status"]["outputs"] == {"parameters": [{"name": "message-global-param", "value": "world"}]}
    others = {k: v for k, v in out["status"]["nodes"].items() if k != "suspend-template-kgfn7-2667278707"}
    assert others == {k: v for k, v in wf["status"]["nodes"].items() if k != "suspend-template-kgfn7-2667278707"}
    assert not argo.workflow_status(out).suspended


def test_resume_of_fixture_04_without_values_fails_as_argo_does() -> None:
    """Supplied parameters without a value or a default: `argo resume` refuses."""
    with pytest.raises(argo.ArgoError, match="has not been set and does not have a default value"):
        argo.resume(load("04"))


def test_resume_of_fixture_06_clears_spec_suspend() -> None:
    out = argo.resume(load("06"))
    assert "suspend" not in out["spec"] and not argo.workflow_status(out).suspended


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_nothing_raises_on_any_fixture(prefix: str) -> None:
    wf = load(prefix)
    argo.workflow_status(wf)
    if argo.can_resume(wf):
        with contextlib.suppress(argo.ArgoError):  # a clear refusal is allowed, nothing else
            argo.resume(wf)
