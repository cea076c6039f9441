"""An in-memory CustomObjectsApi that behaves like the API server where it matters.

resourceVersion increases on every write; create of an existing name answers 409
AlreadyExists; replace with a stale resourceVersion answers 409 Conflict; reads and writes
of a missing object answer 404. Errors are the real client's ``ApiException``. Tests can
queue interference (``before_write``) to play a concurrent writer such as Argo's controller.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from kubernetes.client.exceptions import ApiException

Key = tuple[str, str, str]  # plural, namespace, name


def _error(status: int, reason: str, message: str) -> ApiException:
    body = json.dumps({"kind": "Status", "status": "Failure", "reason": reason, "message": message, "code": status})
    return ApiException(status=status, reason=reason, body=body)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


class FakeCustomObjects:
    def __init__(self) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self.calls: list[tuple[str, Key]] = []
        self.before_write: list[Callable[[FakeCustomObjects], None]] = []
        self.failures: list[tuple[str, ApiException]] = []  # (verb, error), in order
        self._rv = 0

    # -- helpers for tests
    def fail(self, verb: str, status: int, times: int = 1) -> None:
        """The next ``times`` calls of ``verb`` (get, create, replace, patch, patch-status) fail."""
        self.failures += [(verb, _error(status, "InjectedFault", f"injected {status}"))] * times

    def put(self, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object directly (as another writer would), bumping resourceVersion."""
        self._rv += 1
        obj = copy.deepcopy(obj)
        obj.setdefault("metadata", {})["resourceVersion"] = str(self._rv)
        meta = obj["metadata"]
        self.objects[(plural, meta["namespace"], meta["name"])] = obj
        return copy.deepcopy(obj)

    def writes(self) -> list[str]:
        return [verb for verb, _ in self.calls if verb in ("create", "replace", "patch", "patch-status")]

    def _enter(self, verb: str, key: Key) -> None:
        self.calls.append((verb, key))
        if verb != "get" and self.before_write:
            self.before_write.pop(0)(self)  # one interfering write per write of ours
        for i, (fail_verb, error) in enumerate(self.failures):
            if fail_verb == verb:
                del self.failures[i]
                raise error

    def _existing(self, key: Key) -> dict[str, Any]:
        if key not in self.objects:
            raise _error(404, "NotFound", f"{key[0]} {key[2]!r} not found")
        return self.objects[key]

    # -- the CustomObjectsApi surface
    def get_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str, **_: Any
    ) -> dict[str, Any]:
        key = (plural, namespace, name)
        self._enter("get", key)
        return copy.deepcopy(self._existing(key))

    def create_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, body: dict[str, Any], **_: Any
    ) -> dict[str, Any]:
        key = (plural, namespace, body["metadata"]["name"])
        self._enter("create", key)
        if key in self.objects:
            raise _error(409, "AlreadyExists", f"{plural} {key[2]!r} already exists")
        return self.put(plural, body)

    def replace_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str, body: dict[str, Any], **_: Any
    ) -> dict[str, Any]:
        key = (plural, namespace, name)
        self._enter("replace", key)
        current = self._existing(key)
        if body.get("metadata", {}).get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise _error(
                409,
                "Conflict",
                "the object has been modified; please apply your changes to the latest version and try again",
            )
        return self.put(plural, body)

    def patch_namespaced_custom_object_status(
        self, group: str, version: str, namespace: str, plural: str, name: str, body: dict[str, Any], **_: Any
    ) -> dict[str, Any]:
        """The status subresource: only ``status`` changes, whatever else the patch holds."""
        key = (plural, namespace, name)
        self._enter("patch-status", key)
        current = self._existing(key)
        return self.put(
            plural, {**current, "status": merge_patch(current.get("status") or {}, body.get("status") or {})}
        )

    def patch_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str, body: dict[str, Any], **_: Any
    ) -> dict[str, Any]:
        key = (plural, namespace, name)
        self._enter("patch", key)
        return self.put(plural, merge_patch(self._existing(key), body))


class FakeEvents:
    """CoreV1Api.create_namespaced_event, recording what was posted."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []

    def create_namespaced_event(self, namespace: str, body: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.posted.append(body)
        return body

    def reasons(self) -> list[str]:
        return [e["reason"] for e in self.posted]
