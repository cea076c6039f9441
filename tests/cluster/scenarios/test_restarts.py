"""The operator stopped and started again: Argo's objects are the record, nothing is done twice."""

from __future__ import annotations

import time
from pathlib import Path

from tests.cluster.platform import Platform
from tests.cluster.scenarios.conftest import OPERATOR_USER, OWN, TokenLogin, operator_process
from tests.cluster.scenarios.workloads import LOW_CONFIDENCE, Workloads, requests


def test_restarted_mid_gate_makes_no_second_workflow_and_resumes_once(
    own: Workloads, platform: Platform, login: TokenLogin, policy_url: str, tmp_path: Path
) -> None:
    """One workload auto-approved and one waiting for a human when the operator stops; the
    human approves while none runs. The next operator resumes the waiting gate, once, and
    creates nothing: the audit log counts every create and update of a Workflow."""
    with operator_process(platform, login, tmp_path / "first", policy_url, OWN):
        own.submit("restart-auto")
        own.submit("restart-human")
        own.to_gate("restart-auto")
        own.to_gate("restart-human", LOW_CONFIDENCE)
        own.wait_condition("restart-auto", "Approved", "True")
        own.wait_phase("restart-human", "AwaitingApproval")
    own.decide("restart-human")  # while no operator runs
    with operator_process(platform, login, tmp_path / "second", policy_url, OWN):
        st = own.wait_condition("restart-human", "Approved", "True")
        assert st["decisions"][-1]["source"] == own.gate_outputs("restart-human")["decided-by"]
        time.sleep(3)  # room for a second create or resume, were there one
    writes = [
        (r.verb, r.name)
        for r in requests(own.cluster, OPERATOR_USER)
        if r.resource == "workflows"
        and r.namespace == OWN
        and r.verb in ("create", "update")
        and r.name.startswith("restart-")
    ]
    assert sorted(writes) == [
        ("create", "restart-auto"),
        ("create", "restart-human"),
        ("update", "restart-auto"),  # its resume, by the first operator
        ("update", "restart-human"),  # the human's, by the second
    ]
