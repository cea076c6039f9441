"""What a policy decides, and the one interface every policy engine offers.

Two queries exist, each a Rego package defining ``allow`` and its reasons (``deny`` for
admission, ``reasons`` for the gate):

- ``agentic.admission``, before a Workflow is created. Input::

    {"workload": <the AgentWorkload, spec with schema defaults applied>,
     "settings": {"defaultAgentImage": str, "defaultBucket": str, "namespace": str}}

- ``agentic.gate``, when the Workflow waits at the approval gate. Input: the admission
  input plus::

    "threshold": <spec.autoApproveThreshold>,
    "progress": {"progress": "3/4", "total": 4, "succeeded": 3, "failed": 0},
    "outputs": {<step>: {<output parameter>: <string value>}}   # finished steps only

  e.g. ``outputs["dom-extractor"]["confidence"] == "0.97"`` (Argo parameters are strings).
 An engine that cannot decide raises :class:`PolicyUnavailable`: the caller then
treats the work as not allowed *yet* (fail closed) and asks again later, instead of
rejecting it for good.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

ADMISSION = "agentic.admission"
GATE = "agentic.gate"


@dataclass(frozen=True)
class Decision:
    """A policy's answer: allowed or not, the reasons, and which engine said so."""

    allowed: bool
    reasons: tuple[str, ...] = ()
    source: str = ""


class PolicyError(Exception):
    """The policy could not be evaluated."""


class PolicyUnavailable(PolicyError):
    """No decision now (engine unreachable, timed out, rule undefined): ask again later."""


class Policy(Protocol):
    """Asked from the operator's event loop: an engine over the network answers there
    too (a worker thread per query queued behind the others and waited for the loop to
    take its answer back: ~50 ms a query in a drain of 2,000, for a query OPA answers in 1.5)."""

    async def evaluate(self, query: str, input: Mapping[str, Any]) -> Decision:
        """Evaluate the package at ``query`` (e.g. ``"agentic.gate"``) for ``input``."""
        ...

    async def close(self) -> None:
        """Release the engine's connections."""
        ...
