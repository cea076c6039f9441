"""Status patches and Kubernetes Events for AgentWorkloads, through the operator's client.

Everything here is a thin call; the decisions about what to write are made in
:mod:`agentic_operator.reconcile`, and when to write them in :mod:`agentic_operator.worker`.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping
from typing import Any

from agentic_operator import api
from agentic_operator.kubeclient import ApiError, Requests, path
from agentic_operator.timestamps import now_text

log = logging.getLogger(__name__)
COMPONENT = "agentic-operator"


class Kube:
    """Status and Event writes for AgentWorkloads."""

    def __init__(self, client: Requests) -> None:
        self._client = client
        self._instance = socket.gethostname()

    async def patch_status(self, namespace: str, name: str, patch: Mapping[str, Any]) -> dict[str, Any] | None:
        """Merge-patch the status subresource; None when the workload is gone."""
        url = path(api.GROUP, api.VERSION, api.PLURAL, namespace, name, "status")
        try:
            return dict(await self._client.patch(url, {"status": dict(patch)}))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def post_event(self, workload: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        """Record a Kubernetes Event on the workload; best effort (a lost Event is logged)."""
        meta = workload["metadata"]
        now = now_text()
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {
                "apiVersion": api.API_VERSION,
                "kind": api.KIND,
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta.get("uid", ""),
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "type": type_,
            "reason": reason,
            "message": message[:1024],
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": self._instance,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            await self._client.create(path("", "v1", "events", meta["namespace"]), body)
        except Exception as exc:  # an Event is a courtesy: never fail a reconcile for it
            log.warning("could not post Event %s for %s/%s: %s", reason, meta["namespace"], meta["name"], exc)
