"""The Kubernetes API as the operator uses it: clients, status patches, Events.

Built on the official ``kubernetes`` client (the same configuration kopf logs in with:
in-cluster service account, else kubeconfig). Everything here is a thin call; the
decisions about what to write are made in :mod:`agentic_operator.reconcile`.
"""

from __future__ import annotations

import functools
import logging
import socket
import time
from collections.abc import Callable, Mapping
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


def retry_after(exc: BaseException) -> float | None:
    """Seconds the API server asked to wait before trying again: a 429 with ``Retry-After``."""
    if getattr(exc, "status", None) != 429:
        return None
    value = (getattr(exc, "headers", None) or {}).get("Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:  # the HTTP-date form: the API server does not send it
        return None
    return seconds if seconds is not None and seconds >= 0 else None


class RetryAfter:
    """An API client (``CustomObjectsApi``, ``CoreV1Api``) whose calls wait as the API server
    asks when it answers 429 Too Many Requests, then send the request again.

    As client-go does (``rest/request.go``: ``checkWait``, at most 10 retries): a 429 means
    the server did not act on the request (API Priority and Fairness rejected it), so a
    write is retried too. The official Python client retries none of them by itself (its
    ``client_go_retries`` covers GET and HEAD only, and is off by default).
    Ref: https://kubernetes.io/docs/concepts/cluster-administration/flow-control/
    """

    def __init__(self, api: Any, *, retries: int = 10, sleep: Callable[[float], None] = time.sleep) -> None:
        self._api, self._retries, self._sleep = api, retries, sleep

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._api, name)
        if not callable(attribute):
            return attribute

        @functools.wraps(attribute)
        def call(*args: Any, **kwargs: Any) -> Any:
            for attempt in range(self._retries + 1):
                try:
                    return attribute(*args, **kwargs)
                except Exception as exc:
                    wait = retry_after(exc)
                    if wait is None or attempt == self._retries:
                        raise
                    log.info("%s answered 429; retrying in %.1fs as the API server asks", name, wait)
                    self._sleep(wait)
            raise AssertionError("unreachable")  # pragma: no cover

        return call


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
