"""What a step is told, from its environment: read once, checked, named when wrong.

The names the template sets come from :mod:`agentic_contract.pipeline`; the tuning knobs
below are the agent's own, with defaults that suit the template's resources. A bad value
is a :class:`~agentic_agent.errors.ConfigError` naming the variable (exit code
``EXIT_CONFIG``: retrying a misconfigured step cannot help). Secrets (``BROWSERLESS_TOKEN``,
``LITELLM_API_KEY``) are read only where they are used and never logged or written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from agentic_agent.errors import ConfigError
from agentic_agent.fetch import Limits
from agentic_contract import pipeline

T = TypeVar("T")

# The agent's own knobs (the template sets none of them; a custom template may).
ENV_CONNECT_TIMEOUT = "AGENT_FETCH_CONNECT_TIMEOUT_SECONDS"
ENV_READ_TIMEOUT = "AGENT_FETCH_READ_TIMEOUT_SECONDS"
ENV_TOTAL_TIMEOUT = "AGENT_FETCH_TIMEOUT_SECONDS"
ENV_MAX_BYTES = "AGENT_FETCH_MAX_BYTES"
ENV_MAX_REDIRECTS = "AGENT_FETCH_MAX_REDIRECTS"
ENV_ROBOTS = "AGENT_ROBOTS_TXT"  # "obey" (default) or "ignore"
ENV_SCREENSHOT_TIMEOUT = "AGENT_SCREENSHOT_TIMEOUT_SECONDS"
ENV_LLM_TIMEOUT = "AGENT_LLM_TIMEOUT_SECONDS"
ENV_LLM_MAX_RETRIES = "AGENT_LLM_MAX_RETRIES"
ENV_LLM_IMAGES = "AGENT_LLM_IMAGES"  # "true": send screenshots to a model that accepts images


class Env:
    """Typed reads of an environment mapping; every error names the variable."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def text(self, name: str, default: str | None = None) -> str:
        value = self.environ.get(name, "").strip()
        if value:
            return value
        if default is None:
            raise ConfigError(f"{name}: not set")
        return default

    def optional(self, name: str) -> str | None:
        return self.environ.get(name, "").strip() or None

    def number(self, name: str, default: T, conv: Callable[[str], T], low: float, high: float) -> T:
        raw = self.environ.get(name, "").strip()
        if not raw:
            return default
        try:
            value = conv(raw)
        except ValueError:
            raise ConfigError(f"{name}: {raw!r} is not a number") from None
        if not low <= float(value) <= high:  # type: ignore[arg-type]
            raise ConfigError(f"{name}: {raw} is out of range ({low:g} to {high:g})")
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(name, default).lower()
        if value not in choices:
            raise ConfigError(f"{name}: {value!r} is not one of {', '.join(choices)}")
        return value

    def path(self, name: str, default: str) -> Path:
        return Path(self.text(name, default))


@dataclass(frozen=True)
class Common:
    """What every step gets: the job, the objective and where to read and write."""

    job_id: str
    objective: str
    input_dir: Path
    artifacts_dir: Path
    parameters_dir: Path
    policy_data: Path

    @classmethod
    def from_env(cls, env: Env) -> Common:
        return cls(
            job_id=env.text(pipeline.PARAMETER_ENV[pipeline.PARAM_JOB_ID]),
            objective=env.text(pipeline.PARAMETER_ENV[pipeline.PARAM_OBJECTIVE]),
            input_dir=env.path(pipeline.ENV_INPUT_DIR, pipeline.INPUT_DIR),
            artifacts_dir=env.path(pipeline.ENV_OUTPUT_ARTIFACTS, pipeline.OUTPUT_ARTIFACTS_DIR),
            parameters_dir=env.path(pipeline.ENV_OUTPUT_PARAMETERS, pipeline.OUTPUT_PARAMETERS_DIR),
            policy_data=env.path(pipeline.ENV_POLICY_DATA, pipeline.POLICY_DATA_PATH),
        )

    def input(self, artifact: str) -> Path:
        return self.input_dir / artifact


def target_urls(env: Env) -> list[str]:
    """``AGENT_TARGET_URLS``: a JSON array of one or more strings."""
    name = pipeline.PARAMETER_ENV[pipeline.PARAM_TARGET_URLS]
    raw = env.text(name)
    try:
        urls = json.loads(raw)
    except ValueError:
        raise ConfigError(f"{name}: not a JSON array") from None
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) and u for u in urls):
        raise ConfigError(f"{name}: must be a non-empty JSON array of URL strings")
    return urls


def fetch_limits(env: Env) -> Limits:
    default = Limits()
    return Limits(
        connect_timeout=env.number(ENV_CONNECT_TIMEOUT, default.connect_timeout, float, 0.1, 120),
        read_timeout=env.number(ENV_READ_TIMEOUT, default.read_timeout, float, 0.1, 300),
        total_timeout=env.number(ENV_TOTAL_TIMEOUT, default.total_timeout, float, 0.1, 600),
        max_bytes=env.number(ENV_MAX_BYTES, default.max_bytes, int, 1024, 100 * 2**20),
        max_redirects=env.number(ENV_MAX_REDIRECTS, default.max_redirects, int, 0, 20),
    )
