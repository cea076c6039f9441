"""EmbeddedPolicy: the Rego files decide every case in-process, prepared once."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from agentic_operator import api, argo, pipeline, reconcile
from agentic_operator.decision import ADMISSION, GATE, PolicyError, PolicyUnavailable
from agentic_operator.policy import EmbeddedPolicy, OpaClient, policy_from_settings
from testkit import argo_sim, factories
from testkit.factories import workflow, workload
from tests.policy.cases import CASES, POLICY_DIR, Case, admission_input, configured_copy, gate_input
from tests.policy.conftest import PolicyFor


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.query}: {c.id}")
def test_case(policy_for: PolicyFor, case: Case) -> None:
    """The decision and its reasons are the case's."""
    decision = policy_for(case.config).evaluate(case.query, case.input)
    assert decision.allowed is case.allowed, decision.reasons
    assert set(case.reasons) <= set(decision.reasons)
    assert decision.reasons == tuple(sorted(set(decision.reasons)))


def test_an_allowed_admission_has_no_reasons(embedded: EmbeddedPolicy) -> None:
    """Admission reasons are its deny messages: none when admitted."""
    assert embedded.evaluate(ADMISSION, admission_input()).reasons == ()


def test_the_source_names_the_engine_and_directory(embedded: EmbeddedPolicy) -> None:
    """Decisions say which engine and which files made them."""
    assert embedded.evaluate(GATE, gate_input()).source == f"embedded:{POLICY_DIR}"


def test_the_gate_weighs_the_outputs_the_pipeline_reports(embedded: EmbeddedPolicy) -> None:
    """gate.rego's expected outputs are pipeline.STEP_OUTPUTS, so a renamed parameter fails here."""
    document = embedded.document(GATE, gate_input())
    assert document["expected_outputs"] == {step: list(params) for step, params in pipeline.STEP_OUTPUTS.items()}


def test_test_files_are_not_loaded(embedded: EmbeddedPolicy) -> None:
    """Decisions come from the policies only, as the sidecar gets them."""
    assert embedded.packages == {"agentic.admission", "agentic.gate", "agentic.lib"}


def test_policies_are_prepared_once(tmp_path: Path) -> None:
    """After construction the files are not read again: removing them changes nothing."""
    policy = EmbeddedPolicy(configured_copy(tmp_path / "p", {}))
    before = policy.evaluate(ADMISSION, admission_input(targetUrls=["http://10.0.0.1/"]))
    shutil.rmtree(tmp_path / "p")
    assert policy.evaluate(ADMISSION, admission_input(targetUrls=["http://10.0.0.1/"])) == before


def test_a_syntax_error_names_the_file(tmp_path: Path) -> None:
    """A module that does not parse stops construction with its file name."""
    directory = configured_copy(tmp_path, {})
    (directory / "broken.rego").write_text("package agentic.broken\n\nallow if {\n")
    with pytest.raises(PolicyError, match=r"broken\.rego"):
        EmbeddedPolicy(directory)


def test_a_broken_test_file_does_not_matter(tmp_path: Path) -> None:
    """*_test.rego files are skipped for decisions."""
    directory = configured_copy(tmp_path, {})
    (directory / "broken_test.rego").write_text("package broken_test\n\ntest_x if {\n")
    assert EmbeddedPolicy(directory).evaluate(ADMISSION, admission_input()).allowed


def test_a_directory_without_policies_is_an_error(tmp_path: Path) -> None:
    """An empty or wrong policy_dir is caught at start, not at the first decision."""
    with pytest.raises(PolicyError, match=r"no \.rego files"):
        EmbeddedPolicy(tmp_path)


def test_an_unknown_package_is_unavailable(embedded: EmbeddedPolicy) -> None:
    """An undefined document is no decision, as with OPA."""
    with pytest.raises(PolicyUnavailable, match=r"agentic\.nothing"):
        embedded.evaluate("agentic.nothing", {})


def test_a_query_must_be_a_package_path(embedded: EmbeddedPolicy) -> None:
    """Queries are dotted Rego names, never arbitrary text."""
    with pytest.raises(ValueError, match="not a Rego package path"):
        embedded.evaluate("agentic/admission", {})


def test_text_with_quotes_backslashes_and_non_ascii_survives(embedded: EmbeddedPolicy) -> None:
    """Strings reach the policy and come back in messages unchanged."""
    urls = ['http://a"b\\c/', "https://exämple.com/"]
    reasons = embedded.evaluate(ADMISSION, admission_input(targetUrls=urls)).reasons
    assert {r.split(" is not")[0] for r in reasons} == {
        'spec.targetUrls[0]: host "a"b\\c"',
        'spec.targetUrls[1]: host "exämple.com"',
    }


def test_concurrent_calls_get_their_own_answers(embedded: EmbeddedPolicy) -> None:
    """Calls from several threads do not see each other's input."""
    inputs = {f"10.0.0.{i}": admission_input(targetUrls=[f"http://10.0.0.{i}/"]) for i in range(1, 9)}
    seen: dict[str, tuple[str, ...]] = {}

    def ask(host: str) -> None:
        for _ in range(5):
            seen[host] = embedded.evaluate(ADMISSION, inputs[host]).reasons

    threads = [threading.Thread(target=ask, args=(host,)) for host in inputs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(f'host "{host}"' in seen[host][0] for host in inputs)


def test_the_settings_choose_the_engine() -> None:
    """policy_dir set: in-process Rego; else the OPA sidecar at opa_url with its timeout."""
    embedded = policy_from_settings(dataclasses.replace(factories.SETTINGS, policy_dir=str(POLICY_DIR)))
    assert isinstance(embedded, EmbeddedPolicy) and embedded.policy_dir == POLICY_DIR
    client = policy_from_settings(
        dataclasses.replace(factories.SETTINGS, opa_url="http://127.0.0.1:9999", opa_timeout_seconds=0.5)
    )
    assert isinstance(client, OpaClient)
    assert (client.url, client.timeout) == ("http://127.0.0.1:9999", 0.5)


def test_the_opa_client_does_not_need_regopy() -> None:
    """regopy is an optional extra: importing the module and using OpaClient must not load it."""
    code = "import sys, agentic_operator.policy as p; p.OpaClient('http://127.0.0.1:1'); print('regopy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"


def test_the_gate_cases_have_the_shape_the_operator_sends() -> None:
    """The cases build gate inputs by hand (to inject malformed values); their shape must
    stay the one reconcile.gate_input sends, or the policies are tested on fiction."""
    wl = workload()
    wf = argo_sim.run_until_gate(workflow(wl))
    sent = reconcile.gate_input(wl, api.parse(wl), argo.workflow_status(wf), factories.SETTINGS)
    case = gate_input()
    assert case.keys() == sent.keys() and case["progress"].keys() == sent["progress"].keys()
    assert case["workload"] == sent["workload"] and case["settings"] == sent["settings"]
    assert {step: set(v) for step, v in case["outputs"].items()} == {
        step: set(v) for step, v in sent["outputs"].items()
    }
