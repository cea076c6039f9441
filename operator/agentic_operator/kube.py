"""The Kubernetes API as the operator uses it: clients, status patches, Events.

Built on the official ``kubernetes`` client (the same configuration kopf logs in with:
in-cluster service account, else kubeconfig). Everything here is a thin call; the
decisions about what to write are made in :mod:`agentic_operator.reconcile`.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping
from typing import Any

from agentic_operator import api
from agentic_operator.timestamps import now_text

log = logging.getLogger(__name__)
COMPONENT = "agentic-operator"


def load_config() -> None:
    """In-cluster service account when running in a Pod, else the current kubeconfig."""
    import kubernetes.config

    try:
        kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config()  # type: ignore[no-untyped-call]


class Kube:
    """Status and Event writes for AgentWorkloads.

    ``objects`` is a ``CustomObjectsApi`` and ``core`` a ``CoreV1Api`` (or fakes with the
    same methods); ``api_exception`` the exception class they raise.
    """

    def __init__(
        self, objects: Any, core: Any, api_exception: type[Exception], *, request_timeout: float = 10.0
    ) -> None:
        self._objects, self._core, self._api_exception = objects, core, api_exception
        self._timeout = request_timeout
        self._instance = socket.gethostname()

    def patch_status(self, namespace: str, name: str, patch: Mapping[str, Any]) -> dict[str, Any] | None:
        """Merge-patch the status subresource; None when the workload is gone."""
        try:
            result = self._objects.patch_namespaced_custom_object_status(
                api.GROUP,
                api.VERSION,
                namespace,
                api.PLURAL,
                name,
                {"status": dict(patch)},
                _request_timeout=self._timeout,
            )
        except self._api_exception as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise
        return dict(result)

    def post_event(self, workload: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
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
            self._core.create_namespaced_event(meta["namespace"], body, _request_timeout=self._timeout)
        except Exception as exc:  # an Event is a courtesy: never fail a reconcile for it
            log.warning("could not post Event %s for %s/%s: %s", reason, meta["namespace"], meta["name"], exc)
