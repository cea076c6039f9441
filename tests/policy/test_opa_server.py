"""OpaClient against the real `opa run --server`, loaded the way the sidecar loads it."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from agentic_operator.decision import ADMISSION, GATE, PolicyUnavailable
from agentic_operator.policy import OpaClient
from components import bundle
from testkit.opa import OpaFor, OpaServer
from tests.policy.cases import admission_input, gate_input


def test_each_policy_is_loaded_once_and_no_test_file(opa: OpaServer) -> None:
    """The ConfigMap volume shows every file twice more (`..data/`, `..<timestamp>/`);
    `--ignore=.*` keeps OPA to the visible links, and the bundle leaves tests out."""
    loaded = opa.get("/v1/policies")["result"]
    assert sorted(Path(p["id"]).name for p in loaded) == ["addresses.rego", "admission.rego", "gate.rego", "lib.rego"]
    assert not [p["id"] for p in loaded if "/.." in p["id"]]


def test_the_data_is_data_json_with_the_stack_overrides_deep_merged(opa_for: OpaFor) -> None:
    """What `policy.data` in a stack does: keys merge into agentic.config, nested objects
    key by key, and null removes a blocked network."""
    overrides = {"max_targets": 5, "blocked_networks": {"10.0.0.0/8": None}}
    server = opa_for(overrides)
    committed = bundle.config_section(bundle.policy_data())
    assert committed is not None
    assert server.get("/v1/data/agentic/config")["result"] == bundle.deep_merge(committed, overrides)
    client = server.client()
    assert client.evaluate(ADMISSION, admission_input(targetUrls=["http://10.0.0.1/"])).allowed
    assert not client.evaluate(ADMISSION, admission_input(targetUrls=["http://127.0.0.1/"])).allowed


def test_decisions_name_the_server(opa: OpaServer) -> None:
    decision = opa.client().evaluate(GATE, gate_input())
    assert decision.allowed and decision.source == f"opa:{opa.url}"


def test_an_allowed_admission_has_no_reasons(opa: OpaServer) -> None:
    """Admission reasons are its deny messages: none when admitted."""
    assert opa.client().evaluate(ADMISSION, admission_input()).reasons == ()


def test_an_unknown_package_is_unavailable(opa: OpaServer) -> None:
    """OPA answers 200 without a result for a document it does not have: no decision."""
    with pytest.raises(PolicyUnavailable, match=r"agentic\.nothing is undefined"):
        opa.client().evaluate("agentic.nothing", {})


def test_text_with_quotes_backslashes_and_non_ascii_survives(opa: OpaServer) -> None:
    """Strings reach the policy and come back in messages unchanged."""
    urls = ['http://a"b\\c/', "https://exämple.com/"]
    reasons = opa.client().evaluate(ADMISSION, admission_input(targetUrls=urls)).reasons
    assert {r.split(" is not")[0] for r in reasons} == {
        'spec.targetUrls[0]: host "a"b\\c"',
        'spec.targetUrls[1]: host "exämple.com"',
    }


def test_concurrent_calls_get_their_own_answers(opa: OpaServer) -> None:
    """Calls from several threads (the operator's workers share one client) do not mix."""
    client = opa.client()
    inputs = {f"10.0.0.{i}": admission_input(targetUrls=[f"http://10.0.0.{i}/"]) for i in range(1, 9)}
    seen: dict[str, tuple[str, ...]] = {}

    def ask(host: str) -> None:
        for _ in range(5):
            seen[host] = client.evaluate(ADMISSION, inputs[host]).reasons

    threads = [threading.Thread(target=ask, args=(host,)) for host in inputs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(f'host "{host}"' in seen[host][0] for host in inputs)


def test_queries_share_a_kept_connection(opa: OpaServer) -> None:
    """One client's queries go over one TCP connection: OPA's access log shows one client
    address for them all (OPA's CPU per query: BENCHMARKS.md)."""

    async def three() -> None:
        async with OpaClient(opa.url) as client:
            for _ in range(3):
                await client.evaluate(GATE, gate_input())

    asyncio.run(three())
    addresses = [
        entry["client_addr"]
        for entry in map(json.loads, opa.log().splitlines())
        if entry.get("msg") == "Received request." and entry.get("req_path") == "/v1/data/agentic/gate"
    ]
    assert len(addresses) >= 3 and len(set(addresses[-3:])) == 1, addresses


def _policies(tmp_path: Path, rego: str) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "admission.rego").write_text(rego)
    return folder


def test_a_policy_that_does_not_compile_keeps_opa_from_starting(tmp_path: Path) -> None:
    """The sidecar would not start (and the operator, finding nothing there, fails closed)."""
    with (
        pytest.raises(RuntimeError, match=r"(?s)opa exited.*admission.rego:4: rego_parse_error"),
        OpaServer(workdir=tmp_path, policy_dir=_policies(tmp_path, "package agentic.admission\n\nallow if {\n")),
    ):
        pass


def test_an_evaluation_error_is_unavailable_with_opas_message(tmp_path: Path) -> None:
    """Two values for one complete rule: OPA answers 500 with its error, passed on."""
    rego = "package agentic.admission\n\nallow := true if input.a\n\nallow := false if input.b\n"
    with OpaServer(workdir=tmp_path, policy_dir=_policies(tmp_path, rego)) as server:
        with pytest.raises(
            PolicyUnavailable,
            match=r"HTTP 500 for agentic\.admission: error\(s\) occurred while evaluating query; eval_conflict_error: rule data.agentic.admission.allow produced conflicting values",
        ):
            server.client().evaluate(ADMISSION, {"a": True, "b": True})
        assert server.client().evaluate(ADMISSION, {"a": True}).allowed


def test_a_port_taken_before_opa_binds_it_is_picked_again(tmp_path: Path) -> None:
    """Free when picked, taken by another process by the time OPA binds it: OPA exits
    (address already in use) and the server starts again on other ports."""
    server = OpaServer(workdir=tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", server.port))
        squatter.listen()
        taken = server.port
        with server:
            assert server.port != taken
            assert server.client().evaluate(ADMISSION, admission_input()).allowed


def test_nothing_is_left_running(tmp_path: Path) -> None:
    with OpaServer(workdir=tmp_path) as server:
        assert server.alive()
    assert not server.alive()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{server.url}/health", timeout=1)
    assert json.loads((tmp_path / "policies" / "data.json").read_text())  # the volume it served
