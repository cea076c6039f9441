"""Timestamps as Kubernetes and Argo write them: RFC 3339 in UTC, whole seconds.

``metav1.Time`` serialises as ``2006-01-02T15:04:05Z``; conditions, Events, decisions and
the ``finishedAt`` of a resumed gate all use this one format, so an unchanged world
renders to an identical status.
Ref: https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/time/
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def format_time(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_text() -> str:
    """The current time, formatted."""
    return format_time(datetime.now(UTC))


def parse_time(value: Any) -> datetime | None:
    """A timestamp read back (any RFC 3339 offset), or None when it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None
