"""AgentWorkload status helpers: conditions, decisions, and the patch that writes them.

Kubernetes conventions: conditions have the ``metav1.Condition`` shape and keep
``lastTransitionTime`` unless their status changes; time only enters the status on a
transition, so reconciling an unchanged world produces an identical status and no write.
Ref: https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#typical-status-properties
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from agentic_operator import api
from agentic_operator.decision import Decision
from agentic_operator.timestamps import format_time

ADMITTED = "Admitted"
WORKFLOW_CREATED = "WorkflowCreated"
APPROVED = "Approved"
READY = "Ready"


def condition(status: Mapping[str, Any], type_: str) -> dict[str, Any] | None:
    for cond in status.get("conditions") or []:
        if isinstance(cond, dict) and cond.get("type") == type_:
            return cond
    return None


def set_condition(
    status: dict[str, Any], type_: str, value: bool | None, reason: str, message: str, *, now: datetime, generation: int
) -> None:
    """Set a condition (True/False/Unknown for None), keeping its time if unchanged."""
    text = {True: "True", False: "False", None: "Unknown"}[value]
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    old = next((c for c in conditions if c.get("type") == type_), None)
    new = {
        "type": type_,
        "status": text,
        "observedGeneration": generation,
        "lastTransitionTime": old["lastTransitionTime"]
        if old and old.get("status") == text and old.get("lastTransitionTime")
        else format_time(now),
        "reason": reason,
        "message": message[:32768],
    }
    status["conditions"] = [new if c is old else c for c in conditions] if old else [*conditions, new]


def decisions(status: Mapping[str, Any], *stages: str) -> list[dict[str, Any]]:
    """Recorded decisions of the given stages (all when none given), oldest first."""
    return [
        d for d in status.get("decisions") or [] if isinstance(d, dict) and (not stages or d.get("stage") in stages)
    ]


def record(status: dict[str, Any], stage: str, decision: Decision, *, now: datetime) -> dict[str, Any]:
    """Append a decision, keeping the newest ``api.MAX_DECISIONS``."""
    entry = {
        "stage": stage,
        "allowed": decision.allowed,
        "reasons": list(decision.reasons),
        "source": decision.source,
        "time": format_time(now),
    }
    status["decisions"] = [*decisions(status), entry][-api.MAX_DECISIONS :]
    return entry


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The RFC 7386 merge patch that turns ``old`` into ``new`` (empty when equal).

    Lists are replaced whole, as merge patch does; removed keys become ``None``.
    """
    patch: dict[str, Any] = {}
    for key in old.keys() - new.keys():
        patch[key] = None
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            sub = merge_patch(before, value)
            if sub:
                patch[key] = sub
        elif value != before or key not in old:
            patch[key] = copy.deepcopy(value)
    return patch
