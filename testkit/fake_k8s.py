"""An in-memory Kubernetes API, async and path-based as the operator's client, that behaves
like the API server where it matters.

resourceVersion increases on every write; create of an existing name answers 409
AlreadyExists; replace with a stale resourceVersion answers 409 Conflict; reads and writes
of a missing object answer 404. Errors are the operator client's ``ApiError``. Tests can
queue interference (``before_write``) to play a concurrent writer such as Argo's controller.
Events (``POST .../events``) are recorded in ``events`` and not counted in ``calls``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from agentic_operator.kubeclient import ApiError

Key = tuple[str, str, str]  # plural, namespace, name


def _error(status: int, reason: str, message: str) -> ApiError:
    return ApiError(
        status, {"kind": "Status", "status": "Failure", "reason": reason, "message": message, "code": status}
    )


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


def _route(url: str) -> tuple[str, str, str | None, str | None]:
    """plural, namespace, name, subresource of an object or collection path."""
    parts = url.strip("/").split("/")
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    if rest[0] != "namespaces" or len(rest) < 3:
        raise ValueError(f"not a namespaced resource path: {url}")
    namespace, plural, tail = rest[1], rest[2], rest[3:]
    return plural, namespace, tail[0] if tail else None, "/".join(tail[1:]) or None


class FakeEvents:
    """Posted Events, in order."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []

    def reasons(self) -> list[str]:
        return [e["reason"] for e in self.posted]


class FakeApi:
    """The operator client's ``get``/``create``/``replace``/``patch`` over a dict of objects."""

    def __init__(self, events: FakeEvents | None = None) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self.calls: list[tuple[str, Key]] = []
        self.before_write: list[Callable[[FakeApi], None]] = []
        self.failures: list[tuple[str, ApiError]] = []  # (verb, error), in order
        self.events = events or FakeEvents()
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

    # -- the client's surface
    async def get(self, url: str, *, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        plural, namespace, name, _ = _route(url)
        key = (plural, namespace, str(name))
        self._enter("get", key)
        return copy.deepcopy(self._existing(key))

    async def create(self, url: str, body: Mapping[str, Any]) -> dict[str, Any]:
        plural, namespace, _, _ = _route(url)
        if plural == "events":
            self.events.posted.append(dict(body))
            return dict(body)
        key = (plural, namespace, body["metadata"]["name"])
        self._enter("create", key)
        if key in self.objects:
            raise _error(409, "AlreadyExists", f"{plural} {key[2]!r} already exists")
        return self.put(plural, dict(body))

    async def replace(self, url: str, body: Mapping[str, Any]) -> dict[str, Any]:
        plural, namespace, name, _ = _route(url)
        key = (plural, namespace, str(name))
        self._enter("replace", key)
        current = self._existing(key)
        if body.get("metadata", {}).get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise _error(
                409,
                "Conflict",
                "the object has been modified; please apply your changes to the latest version and try again",
            )
        return self.put(plural, dict(body))

    async def patch(self, url: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """A merge patch; on ``/status`` only ``status`` changes, whatever else the patch holds."""
        plural, namespace, name, subresource = _route(url)
        key = (plural, namespace, str(name))
        if subresource == "status":
            self._enter("patch-status", key)
            current = self._existing(key)
            status = merge_patch(current.get("status") or {}, body.get("status") or {})
            return self.put(plural, {**current, "status": status})
        self._enter("patch", key)
        return self.put(plural, merge_patch(self._existing(key), body))
