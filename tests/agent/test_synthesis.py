"""Synthesis against an OpenAI-compatible server on loopback: the request sent, the report written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentic_agent.__main__ import main
from agentic_contract import pipeline
from testkit.agent.peers import ChatServer, Site, extractive_answer
from tests.agent.conftest import as_inputs, scrape
from tests.agent.test_screenshots import PIXEL

KEY = "sk-local-s3cr3t"


@pytest.fixture
def extracted(site: Site, step_env: dict[str, str]) -> dict[str, str]:
    """Pages scraped and extracted by the real steps, and a screenshot index with one picture."""
    scrape(step_env, site.url("/pricing.html"))
    assert main([pipeline.STEP_DOM], step_env) == 0
    as_inputs(step_env, pipeline.ARTIFACT_DOM)
    images = Path(step_env[pipeline.ENV_INPUT_DIR]) / pipeline.ARTIFACT_IMAGES
    images.mkdir()
    (images / "p1.png").write_bytes(PIXEL)
    (images / "index.json").write_text(json.dumps({"images": [{"id": "p1", "file": "p1.png"}]}))
    return step_env


def _server(answer: Any = extractive_answer, **kwargs: Any) -> Iterator[ChatServer]:
    server = ChatServer(answer, **kwargs)
    yield server
    server.close()


@pytest.fixture
def llm() -> Iterator[ChatServer]:
    yield from _server()


def _env(env: dict[str, str], server: ChatServer, **extra: str) -> dict[str, str]:
    return {
        **env,
        pipeline.ENV_LITELLM_URL: server.url,
        pipeline.ENV_LITELLM_API_KEY: KEY,
        pipeline.ENV_LLM_MODEL: "local-model",
        "AGENT_LLM_MAX_RETRIES": "0",
        **extra,
    }


def _report(env: dict[str, str]) -> tuple[dict[str, Any], str]:
    folder = Path(env[pipeline.ENV_OUTPUT_ARTIFACTS]) / pipeline.ARTIFACT_REPORT
    return json.loads((folder / "report.json").read_text()), (folder / "report.md").read_text()


def test_the_request_carries_the_objective_the_data_and_the_key(extracted: dict[str, str], llm: ChatServer) -> None:
    """One chat completion to /v1/chat/completions with model, temperature 0 and the extracted prices."""
    assert main([pipeline.STEP_SYNTHESIS], _env(extracted, llm)) == 0
    (request,) = llm.requests
    assert request.path == "/v1/chat/completions" and request.headers["authorization"] == f"Bearer {KEY}"
    body = json.loads(request.body)
    assert body["model"] == "local-model" and body["temperature"] == 0
    system, user = body["messages"]
    assert system["role"] == "system" and "sources" in system["content"]
    assert user["content"].startswith("Objective: List the plans and their monthly prices\n")
    data = json.loads(user["content"].split("<data>")[1].split("</data>")[0])
    (page,) = data["pages"]
    assert page["id"] == "p1" and [p["amount"] for p in page["prices"]] == [9.0, 29.0, 99.0, 1200.0]
    assert page["tables"][0]["header"] == ["Plan", "Price", "Storage", "Seats"]


def test_the_report_cites_the_pages_each_statement_comes_from(
    extracted: dict[str, str], llm: ChatServer, site: Site
) -> None:
    """report.json maps citations to URLs; report.md numbers them; no key in either."""
    assert main([pipeline.STEP_SYNTHESIS], _env(extracted, llm)) == 0
    report, md = _report(extracted)
    assert report["model"] == "local-model" and report["uncited"] == 0 and report["confidence"] == 1.0
    assert report["statements"][1] == {
        "text": "Team | $29/month | 100 GB | 10",
        "sources": [{"id": "p1", "url": site.url("/pricing.html")}],
    }
    assert "- Team | $29/month | 100 GB | 10 [1]" in md
    assert f"1. [Acme Cloud: Pricing]({site.url('/pricing.html')}) (screenshot: `p1.png`)" in md
    assert KEY not in md and KEY not in json.dumps(report)
    assert list(Path(extracted[pipeline.ENV_OUTPUT_PARAMETERS]).iterdir()) == []  # synthesis has no output parameters


def test_citations_of_unknown_pages_are_dropped(extracted: dict[str, str]) -> None:
    """A model citing a page that was not fetched does not make it a source."""
    answer = json.dumps({"summary": "s", "statements": [{"text": "made up", "sources": ["p9"]}]})
    for server in _server(lambda _: f"```json\n{answer}\n```"):
        assert main([pipeline.STEP_SYNTHESIS], _env(extracted, server)) == 0
    report, md = _report(extracted)
    assert report["statements"] == [{"text": "made up", "sources": []}] and report["uncited"] == 1
    assert "- made up _(no source given)_" in md


def test_screenshots_go_to_a_model_that_accepts_images(extracted: dict[str, str], llm: ChatServer) -> None:
    """With AGENT_LLM_IMAGES=true the user message has the PNG as a data URL."""
    assert main([pipeline.STEP_SYNTHESIS], _env(extracted, llm, AGENT_LLM_IMAGES="true")) == 0
    parts = llm.bodies()[0]["messages"][1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,iVBORw0KGgo")


def test_the_client_retries_a_busy_endpoint(extracted: dict[str, str]) -> None:
    """AGENT_LLM_MAX_RETRIES from the environment: a 503 then an answer is a report."""
    for server in _server(fail=1, status=503):
        assert main([pipeline.STEP_SYNTHESIS], _env(extracted, server, AGENT_LLM_MAX_RETRIES="1")) == 0
        assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("kwargs", "code", "reason"),
    [
        ({"fail": 5, "status": 503}, pipeline.EXIT_RETRYABLE, "the model endpoint is busy or failing: HTTP 503"),
        ({"fail": 5, "status": 401}, pipeline.EXIT_CONFIG, "the model endpoint refused: HTTP 401"),
        ({"answer": lambda _: "Sure! Here are the prices."}, pipeline.EXIT_RETRYABLE, "not the JSON object asked for"),
    ],
)
def test_failures_exit_with_their_code_and_write_no_report(
    extracted: dict[str, str], kwargs: dict[str, Any], code: int, reason: str
) -> None:
    """Busy is retryable, a refused key is configuration, a non-JSON answer may differ next time."""
    for server in _server(**kwargs):
        assert main([pipeline.STEP_SYNTHESIS], _env(extracted, server)) == code
    message = Path(extracted["AGENT_TERMINATION_LOG"]).read_text()
    assert reason in message and KEY not in message
    assert not Path(extracted[pipeline.ENV_OUTPUT_ARTIFACTS], "report").exists()


def test_an_unreachable_endpoint_is_retryable(extracted: dict[str, str]) -> None:
    """Nothing listening: EXIT_RETRYABLE."""
    env = {
        **extracted,
        pipeline.ENV_LITELLM_URL: "http://127.0.0.1:9",
        pipeline.ENV_LLM_MODEL: "local-model",
        "AGENT_LLM_MAX_RETRIES": "0",
        "AGENT_LLM_TIMEOUT_SECONDS": "5",
    }
    assert main([pipeline.STEP_SYNTHESIS], env) == pipeline.EXIT_RETRYABLE
    assert "did not answer" in Path(extracted["AGENT_TERMINATION_LOG"]).read_text()


def test_no_model_named_is_a_configuration_error(extracted: dict[str, str], llm: ChatServer) -> None:
    """The model is the platform's choice (template.llmModel): unset, the step asks nothing."""
    env = _env(extracted, llm)
    del env[pipeline.ENV_LLM_MODEL]
    assert main([pipeline.STEP_SYNTHESIS], env) == pipeline.EXIT_CONFIG
    assert f"{pipeline.ENV_LLM_MODEL}: not set" in Path(extracted["AGENT_TERMINATION_LOG"]).read_text()
    assert llm.requests == []
