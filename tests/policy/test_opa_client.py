"""OpaClient against a server on 127.0.0.1 that answers as OPA's data API does, or does not."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import pytest

from agentic_operator.decision import ADMISSION, GATE, Decision, PolicyUnavailable
from agentic_operator.policy import EmbeddedPolicy, OpaClient
from testkit.fake_opa import FakeOpa, as_opa, fixed
from tests.policy.cases import CASES, Case, admission_input, gate_input
from tests.policy.conftest import PolicyFor

ALLOWED = {"allow": True, "deny": []}


def ask(answer: Any, query: str = ADMISSION, timeout: float = 2.0) -> Decision:
    with FakeOpa(answer) as opa:
        return OpaClient(opa.url, timeout=timeout).evaluate(query, admission_input())


def test_the_request_is_opas_data_api(embedded: EmbeddedPolicy) -> None:
    """POST /v1/data/<package path> with {"input": ...} as JSON."""
    data = gate_input()
    with FakeOpa(as_opa(embedded)) as opa:
        OpaClient(opa.url + "/").evaluate(GATE, data)
    (request,) = opa.requests
    assert (request.method, request.path, request.content_type) == ("POST", "/v1/data/agentic/gate", "application/json")
    assert request.body == {"input": data}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.query}: {c.id}")
def test_both_engines_decide_alike(policy_for: PolicyFor, case: Case) -> None:
    """Parity: through OPA's API (answers computed from the same files) the decision is the same."""
    policy = policy_for(case.config)
    with FakeOpa(as_opa(policy)) as opa:
        remote = OpaClient(opa.url).evaluate(case.query, case.input)
    local = policy.evaluate(case.query, case.input)
    assert (remote.allowed, remote.reasons) == (local.allowed, local.reasons)
    assert remote.source == f"opa:{opa.url}"


def test_reasons_are_deny_and_reasons_sorted() -> None:
    """Decision.reasons is the sorted union of deny and reasons, without repeats."""
    decision = ask(fixed(200, {"result": {"allow": False, "deny": ["b", "a"], "reasons": ["c", "a"]}}))
    assert decision == Decision(False, ("a", "b", "c"), decision.source)


def test_an_undefined_document_is_unavailable() -> None:
    """200 without "result" is what OPA answers for a package it does not have."""
    with pytest.raises(PolicyUnavailable, match="undefined"):
        ask(fixed(200, {}))


def test_an_undefined_allow_is_unavailable() -> None:
    """A package without allow (not loaded yet, or renamed) is no decision."""
    with pytest.raises(PolicyUnavailable, match=r"allow is undefined"):
        ask(fixed(200, {"result": {"deny": []}}))


@pytest.mark.parametrize("status", [400, 404, 500])
def test_an_error_status_is_unavailable_with_opas_message(status: int) -> None:
    """OPA's error body is passed on so the operator's log says what went wrong."""
    with pytest.raises(PolicyUnavailable, match=rf"HTTP {status}.*eval_conflict_error: complete rules"):
        ask(fixed(status, {"code": "internal_error", "message": "eval_conflict_error: complete rules"}))


@pytest.mark.parametrize("status", [201, 302])
def test_anything_but_200_is_unavailable(status: int) -> None:
    """A 2xx other than 200, or a redirect (not followed: it would drop the input), is no answer."""
    with pytest.raises(PolicyUnavailable, match=f"HTTP {status}"):
        ask(fixed(status, {"result": ALLOWED}))


def test_malformed_json_is_unavailable() -> None:
    """Whatever answered is not OPA."""
    with pytest.raises(PolicyUnavailable, match="not JSON"):
        ask(fixed(200, b"<html>proxy error</html>"))


@pytest.mark.parametrize(
    ("result", "problem"),
    [
        ({"allow": "true", "deny": []}, 'agentic.admission.allow is "true", not a boolean'),
        ({"allow": 1}, "agentic.admission.allow is 1, not a boolean"),
        ({"allow": True, "deny": "no"}, "agentic.admission.deny is not a set of strings"),
        ({"allow": True, "reasons": [1]}, "agentic.admission.reasons is not a set of strings"),
        (True, "the document is bool, not an object"),
    ],
)
def test_a_malformed_result_fails_closed(result: Any, problem: str) -> None:
    """A broken policy is a decision: not allowed, saying why."""
    decision = ask(fixed(200, {"result": result}))
    assert (decision.allowed, decision.reasons) == (
        False,
        (f"policy error in agentic.admission: {problem}; not allowed (fail closed)",),
    )


def test_a_hung_server_times_out() -> None:
    """A server that does not answer within the timeout is unavailable, quickly."""
    release = threading.Event()

    def hang(path: str, body: Any) -> tuple[int, bytes]:
        release.wait(5)
        return 200, json.dumps({"result": ALLOWED}).encode()

    started = time.monotonic()
    try:
        with pytest.raises(PolicyUnavailable, match=r"no answer for agentic\.admission within 0\.2s"):
            ask(hang, timeout=0.2)
    finally:
        release.set()
    assert time.monotonic() - started < 5


def test_a_refused_connection_is_unavailable() -> None:
    """Nothing listening: unreachable, named."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PolicyUnavailable, match="unreachable"):
        OpaClient(f"http://127.0.0.1:{port}", timeout=1).evaluate(ADMISSION, admission_input())


def test_proxy_settings_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cluster-wide HTTP_PROXY must not carry policy queries away from the sidecar."""
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert ask(fixed(200, {"result": ALLOWED})).allowed


@pytest.mark.parametrize(
    ("url", "timeout"), [("127.0.0.1:8181", 1.0), ("file:///etc/passwd", 1.0), ("http://127.0.0.1:8181", 0)]
)
def test_bad_construction_is_refused(url: str, timeout: float) -> None:
    """A URL without http(s)://host or a non-positive timeout is a configuration error."""
    with pytest.raises(ValueError):
        OpaClient(url, timeout=timeout)
