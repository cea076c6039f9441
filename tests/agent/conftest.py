"""Fixtures for the agent's tests: real loopback peers and a step's environment."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentic_contract import pipeline
from components import bundle
from testkit.agent.peers import Site, chromium_binary

LOOPBACK = "127.0.0.0/8"


def require_chromium() -> str:
    """The chromium binary; in CI its absence fails the run, elsewhere it skips."""
    binary = chromium_binary()
    if binary is None:
        message = "chromium is not installed (apt-get install -y chromium; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return binary


def policy_data(directory: Path, **overrides: object) -> Path:
    """policies/data.json with ``overrides`` merged into agentic.config, as a stack merges them."""
    data = bundle.deep_merge(bundle.policy_data() or {}, {"agentic": {"config": overrides}})
    path = directory / "data.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site()
    yield server
    server.close()


@pytest.fixture
def step_env(tmp_path: Path) -> dict[str, str]:
    """A step's environment as the template sets it, rooted in tmp_path.

    The policy data is the repository's, except that loopback is reachable: every test
    server is on 127.0.0.1, and nothing else may be contacted from here.
    """
    return {
        pipeline.PARAMETER_ENV[pipeline.PARAM_JOB_ID]: "job-1",
        pipeline.PARAMETER_ENV[pipeline.PARAM_OBJECTIVE]: "List the plans and their monthly prices",
        pipeline.ENV_INPUT_DIR: str(tmp_path / "inputs"),
        pipeline.ENV_OUTPUT_ARTIFACTS: str(tmp_path / "outputs" / "artifacts"),
        pipeline.ENV_OUTPUT_PARAMETERS: str(tmp_path / "outputs" / "parameters"),
        pipeline.ENV_POLICY_DATA: str(policy_data(tmp_path, blocked_networks={LOOPBACK: None})),
        "AGENT_TERMINATION_LOG": str(tmp_path / "termination-log"),
    }


def as_inputs(env: dict[str, str], *artifacts: str) -> None:
    """Hand a step's published artifacts to the next step, as Argo does between pods."""
    outputs, inputs = Path(env[pipeline.ENV_OUTPUT_ARTIFACTS]), Path(env[pipeline.ENV_INPUT_DIR])
    inputs.mkdir(parents=True, exist_ok=True)
    for artifact in artifacts:
        (outputs / artifact).rename(inputs / artifact)
    for parameter in Path(env[pipeline.ENV_OUTPUT_PARAMETERS]).glob("*"):
        parameter.unlink()


def scrape(env: dict[str, str], *urls: str) -> None:
    """Run the real scraper on ``urls`` and hand its pages to the next step."""
    from agentic_agent.__main__ import main

    code = main([pipeline.STEP_SCRAPER], {**env, pipeline.PARAMETER_ENV[pipeline.PARAM_TARGET_URLS]: json.dumps(urls)})
    assert code == 0, Path(env["AGENT_TERMINATION_LOG"]).read_text()
    as_inputs(env, pipeline.ARTIFACT_PAGES)
