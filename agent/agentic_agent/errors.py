"""How a step fails: an exit code Argo's retry can act on, and a one-line reason.

A step either publishes all its outputs or none (see :mod:`agentic_agent.outputs`), so
a failed step never hands a partial result to the next one as if it were complete.
"""

from __future__ import annotations

from agentic_contract import pipeline


class StepError(Exception):
    """The step cannot produce its result; ``code`` is one of the contract's exit codes."""

    def __init__(self, reason: str, code: int = pipeline.EXIT_FAILED) -> None:
        super().__init__(reason)
        self.reason = " ".join(reason.split())  # one line, whatever the cause said
        self.code = code


class ConfigError(StepError):
    """The environment or the policy data is wrong: fix the platform, do not retry."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, pipeline.EXIT_CONFIG)


class Retryable(StepError):
    """A peer was unavailable or too slow: Argo's retry may succeed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, pipeline.EXIT_RETRYABLE)
