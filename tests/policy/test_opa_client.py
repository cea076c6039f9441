"""OpaClient against a stand-in on 127.0.0.1 for the answers the real OPA cannot be made
to give on demand: errors, garbage, redirects, a hang, a proxy in the way.

The client against the real `opa run --server` is in test_opa_server.py; the stand-in's
answers copy what that server sends (e.g. the shape of an evaluation error).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
import time
from typing import Any

import pytest

from agentic_operator.decision import ADMISSION, GATE, Decision, PolicyUnavailable
from agentic_operator.policy import OpaClient, policy_from_settings
from testkit import factories
from testkit.fake_opa import FakeOpa, fixed
from testkit.opa import BlockingClient
from tests.policy.cases import admission_input, gate_input

ALLOWED = {"allow": True, "deny": []}


def ask(answer: Any, query: str = ADMISSION, timeout: float = 2.0) -> Decision:
    with FakeOpa(answer) as opa:
        return BlockingClient(opa.url, timeout=timeout).evaluate(query, admission_input())


def test_the_request_is_opas_data_api() -> None:
    """POST /v1/data/<package path> with {"input": ...} as JSON."""
    data = gate_input()
    with FakeOpa(fixed(200, {"result": ALLOWED})) as opa:
        BlockingClient(opa.url + "/").evaluate(GATE, data)
    (request,) = opa.requests
    assert (request.method, request.path, request.content_type) == ("POST", "/v1/data/agentic/gate", "application/json")
    assert request.body == {"input": data}


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


# What OPA 1.22 answers for a rule with two values (test_opa_server.py provokes it).
EVAL_ERROR = {
    "code": "internal_error",
    "message": "error(s) occurred while evaluating query",
    "errors": [
        {"code": "eval_conflict_error", "message": "rule data.agentic.admission.allow produced conflicting values"}
    ],
}


@pytest.mark.parametrize("status", [400, 404, 500])
def test_an_error_status_is_unavailable_with_opas_message(status: int) -> None:
    """OPA's error and its evaluation errors are passed on so the operator's log says what went wrong."""
    with pytest.raises(PolicyUnavailable, match=rf"HTTP {status}.*evaluating query; eval_conflict_error: rule"):
        ask(fixed(status, EVAL_ERROR))


def test_an_error_body_that_is_not_opas_is_shown_raw() -> None:
    with pytest.raises(PolicyUnavailable, match=r"HTTP 502 for agentic\.admission: <html>bad gateway"):
        ask(fixed(502, b"<html>bad gateway</html>"))


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


def test_one_client_keeps_its_connection_and_replaces_one_the_server_closed() -> None:
    """Queries share a kept connection; one the server closed meanwhile (here after
    every answer) is replaced and the query sent again: no query is lost."""

    async def three(url: str) -> list[bool]:
        async with OpaClient(url) as client:
            return [(await client.evaluate(ADMISSION, admission_input())).allowed for _ in range(3)]

    with FakeOpa(fixed(200, {"result": ALLOWED}), drops_kept=True) as opa:
        assert asyncio.run(three(opa.url)) == [True, True, True]
    assert (len(opa.requests), opa.connections) == (3, 3)


def test_a_server_that_closes_every_connection_unanswered_is_unavailable() -> None:
    """Sent once more on a new connection, then given up: unreachable, named."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        accepted: list[bytes] = []

        def close_each() -> None:
            for _ in range(2):
                connection, _ = server.accept()
                accepted.append(connection.recv(65536))
                connection.close()

        closer = threading.Thread(target=close_each, daemon=True)
        closer.start()
        with pytest.raises(PolicyUnavailable, match="unreachable"):
            BlockingClient(f"http://127.0.0.1:{server.getsockname()[1]}").evaluate(ADMISSION, admission_input())
        closer.join(timeout=5)
    assert len(accepted) == 2 and all(a.startswith(b"POST /v1/data/agentic/admission") for a in accepted)


def test_a_refused_connection_is_unavailable() -> None:
    """Nothing listening: unreachable, named."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PolicyUnavailable, match="unreachable"):
        BlockingClient(f"http://127.0.0.1:{port}", timeout=1).evaluate(ADMISSION, admission_input())


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


def test_a_query_must_be_a_package_path() -> None:
    """Queries are dotted Rego names, never arbitrary text (nothing is sent)."""
    with FakeOpa(fixed(200, {"result": ALLOWED})) as opa, pytest.raises(ValueError, match="not a Rego package path"):
        BlockingClient(opa.url).evaluate("agentic/admission", {})
    assert not opa.requests


def test_the_settings_give_the_sidecars_client() -> None:
    client = policy_from_settings(
        dataclasses.replace(factories.SETTINGS, opa_url="http://127.0.0.1:9999", opa_timeout_seconds=0.5)
    )
    assert isinstance(client, OpaClient)
    assert (client.url, client.timeout) == ("http://127.0.0.1:9999", 0.5)
