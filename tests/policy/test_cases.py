"""Every policy case, decided by the real OPA through the client the operator uses."""

from __future__ import annotations

import pytest

from agentic_contract import pipeline
from agentic_operator import api, argo, reconcile
from testkit import argo_sim, factories
from testkit.factories import workflow, workload
from testkit.opa import OpaFor
from tests.policy.cases import CASES, Case, gate_input


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.query}: {c.id}")
def test_case(opa_for: OpaFor, case: Case) -> None:
    """The decision and its reasons are the case's (with the case's stack overrides
    deep-merged into the data, as the Pulumi program does)."""
    decision = opa_for(case.config).client().evaluate(case.query, case.input)
    assert decision.allowed is case.allowed, decision.reasons
    assert set(case.reasons) <= set(decision.reasons)


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


def test_the_gate_weighs_the_outputs_the_pipeline_reports(opa_for: OpaFor) -> None:
    """gate.rego's expected outputs are pipeline.STEP_OUTPUTS, so a renamed parameter fails here."""
    expected = opa_for({}).get("/v1/data/agentic/gate/expected_outputs")["result"]
    assert expected == {step: list(params) for step, params in pipeline.STEP_OUTPUTS.items()}
