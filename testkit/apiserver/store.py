"""The emulated API server's objects and write rules: what kmock 0.8's emulator lacks.

kmock's ``KubernetesEmulator`` stores bodies as posted and merges every patch into them: no
uid, resourceVersion, creationTimestamp or generation; PUT answers 404; a ``/status`` patch
can change spec; watches replay every object as ADDED whatever the resourceVersion; no-op
writes still emit MODIFIED; a failed JSON-patch ``test`` answers 500; and every version of
every object is kept forever. This store follows the API server instead, for everything an
operator can observe:

- one global resourceVersion counter, bumped by every write that changes something;
  ``uid`` and ``creationTimestamp`` on create; ``generation`` (custom resources) starts at 1
  and grows when anything but ``metadata`` (and ``status``, with a status subresource) changes;
- a write that changes nothing is not a write: no new resourceVersion, no watch event;
- PUT needs the current resourceVersion (409 Conflict otherwise, 422 if absent), as does a
  patch that carries one; create of an existing name is 409 AlreadyExists; a failed JSON-patch
  operation (``test`` included) is 422; merge and JSON patches are served, and strategic
  merge (as a merge) on built-in resources only: custom resources answer 415, as they do;
- with a status subresource, writes to the object keep its status and writes to ``/status``
  change only the status; create drops any posted status;
- delete answers a ``Status`` (Success) when the object is gone, the object when its
  finalizers hold it (only ``deletionTimestamp`` is set); removing the last finalizer
  deletes it; no new finalizers once deleting. No garbage collector runs (on a real cluster
  it is kube-controller-manager's, asynchronous: the cluster tier has it), so dependents
  of a deleted owner stay;
- watches replay the retained changes newer than their resourceVersion (410 Expired when
  older than what is retained), or the current objects as ADDED when started without one;
  label and field selectors apply, and an object leaving or entering a selection is seen
  as DELETED or ADDED, as the API server does.

Lists are served in pages with ``limit`` and ``continue`` (the token names the first page's
resourceVersion and the last key served; an expired one answers 410, but later pages show
objects as they are now, not as of the first page: the API server serves a snapshot).
``compact()`` forgets the history as etcd's compaction does. With ``commits`` set to a
list, every commit is recorded there as (monotonic time, resourceVersion, plural, key,
type): the benchmarks time the operator from the commit of a write to the commit of its
answer.

Only the last ``history`` changes are kept for watch resumption, so memory stays flat.
The store is synchronous and does no I/O: the emulator calls it from one event loop, which
makes every operation atomic; watchers get events through a plain callable.
"""

from __future__ import annotations

import base64
import copy
import datetime
import json
import random
import string
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonpatch
import jsonpointer

from testkit.apiserver.resources import ResourceSpec
from testkit.apiserver.selectors import Selector
from testkit.apiserver.status import error
from testkit.fake_k8s import merge_patch

Obj = dict[str, Any]
Key = tuple[str | None, str]  # namespace (None if cluster-scoped), name

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
# Set by the server only: a client's value is ignored on create and on update.
SERVER_FIELDS = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Change:
    """One committed write, as watchers see it; ``old`` is the state before it."""

    rv: int
    resource: ResourceSpec
    type: str  # ADDED, MODIFIED or DELETED
    obj: Obj
    old: Obj | None


@dataclass(eq=False)
class Watch:
    """A watcher of one resource, optionally one namespace and one name, through a selector."""

    resource: ResourceSpec
    namespace: str | None
    name: str | None
    selector: Selector
    sink: Callable[[Obj], None]

    def offer(self, change: Change) -> None:
        meta = change.obj["metadata"]
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return
        if self.name is not None and meta["name"] != self.name:
            return
        now = self.selector(change.obj)
        before = change.old is not None and self.selector(change.old)
        kind = change.type
        if kind == "MODIFIED" and now != before:
            kind = "ADDED" if now else "DELETED"  # entered or left the selection
        elif not now:
            return
        self.sink({"type": kind, "object": change.obj})


class ObjectStore:
    """Objects of the declared resources, with the API server's write and watch rules."""

    def __init__(self, resources: Iterable[ResourceSpec], *, history: int = 10_000) -> None:
        if history < 1:
            raise ValueError("history must keep at least one change")
        self.resources = tuple(resources)
        self.resource_version = 0
        self._objects: dict[ResourceSpec, dict[Key, Obj]] = {r: {} for r in self.resources}
        self._watches: dict[ResourceSpec, set[Watch]] = {r: set() for r in self.resources}
        self._changes: deque[Change] = deque(maxlen=history)
        self._compacted = 0  # changes up to this resourceVersion can no longer be replayed
        self.commits: list[tuple[float, int, str, Key, str]] | None = None  # see the module docstring

    @property
    def watching(self) -> int:
        """How many watch streams are open."""
        return sum(len(watches) for watches in self._watches.values())

    def lookup(self, group: str, version: str, plural: str) -> ResourceSpec | None:
        for resource in self.resources:
            if (resource.group, resource.version, resource.plural) == (group, version, plural):
                return resource
        return None

    # -- reads

    def get(self, resource: ResourceSpec, namespace: str | None, name: str, subresource: str | None = None) -> Obj:
        """An object (its ``/status`` too is the whole object); 404 for unknown ones or subresources."""
        if subresource not in (None, *resource.subresources):
            raise error(404, f"the server could not find the requested resource: {resource.plural}/{subresource}")
        key = self._key(resource, namespace, name)
        if key not in self._objects[resource]:
            raise error(404, f'{resource.qualified} "{name}" not found', **self._details(resource, name))
        return self._objects[resource][key]

    def list(
        self,
        resource: ResourceSpec,
        namespace: str | None,
        selector: Selector,
        *,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> Obj:
        """The matching objects, or one page of them (``limit``, then ``continue``)."""
        snapshot, after = self.resource_version, None
        if continue_token:
            try:
                state = json.loads(base64.urlsafe_b64decode(continue_token))
                snapshot, after = int(state["rv"]), tuple(state["after"])
            except (ValueError, KeyError, TypeError):
                raise error(400, f"invalid continue token {continue_token!r}") from None
            if snapshot < self._compacted:
                raise error(410, "The provided continue parameter is too old to display a consistent list result.")
        items: list[Obj] = []
        more: dict[str, Any] | None = None
        for key, obj in sorted(self._objects[resource].items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
            if (namespace is not None and key[0] != namespace) or not selector(obj):
                continue
            if after is not None and (key[0] or "", key[1]) <= after:
                continue
            if limit is not None and len(items) == limit:
                more = items[-1]["metadata"]
                break
            items.append(obj)
        meta: dict[str, Any] = {"resourceVersion": str(snapshot)}
        if more is not None:
            state = {"rv": snapshot, "after": [more.get("namespace") or "", more["name"]]}
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
        return {"apiVersion": resource.api_version, "kind": f"{resource.kind}List", "metadata": meta, "items": items}

    def compact(self) -> int:
        """Forget every change so far, as etcd's compaction does; the revision compacted at.

        A watch from an older resourceVersion, or a continue token, then answers 410 Gone.
        """
        self._changes.clear()
        self._compacted = self.resource_version
        return self.resource_version

    # -- writes

    def create(self, resource: ResourceSpec, namespace: str | None, body: Any) -> Obj:
        if not isinstance(body, dict) or not isinstance(body.get("metadata", {}), dict):
            raise error(400, "the body is not an object with metadata")
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if resource.namespaced:
            if meta.get("namespace", namespace) != namespace:
                raise error(
                    400, "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise error(422, "metadata.name: Required value: name or generateName is required")
            meta["name"] = meta["generateName"] + "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
        key = self._key(resource, namespace, meta["name"])
        if key in self._objects[resource]:
            raise error(
                409,
                f'{resource.qualified} "{meta["name"]}" already exists',
                reason="AlreadyExists",
                **self._details(resource, meta["name"]),
            )
        for field in (*SERVER_FIELDS, "resourceVersion"):
            meta.pop(field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = _now()
        if resource.custom:
            meta["generation"] = 1
        if "status" in resource.subresources:
            obj.pop("status", None)
        obj.setdefault("apiVersion", resource.api_version)
        obj.setdefault("kind", resource.kind)
        return self._commit(resource, key, "ADDED", obj, None)

    def replace(
        self, resource: ResourceSpec, namespace: str | None, name: str, body: Any, subresource: str | None
    ) -> Obj:
        old = self.get(resource, namespace, name, subresource)
        if not isinstance(body, dict) or not isinstance(body.get("metadata", {}), dict):
            raise error(400, "the body is not an object with metadata")
        meta = body.get("metadata", {})
        if meta.get("name", name) != name:
            raise error(400, f"the name of the object ({meta['name']}) does not match the name on the URL ({name})")
        if not meta.get("resourceVersion"):
            raise error(422, "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update")
        self._precondition(resource, old, meta["resourceVersion"])
        return self._update(resource, old, copy.deepcopy(body), subresource)

    def patch(
        self,
        resource: ResourceSpec,
        namespace: str | None,
        name: str,
        body: Any,
        content_type: str,
        subresource: str | None,
    ) -> Obj:
        old = self.get(resource, namespace, name, subresource)
        if content_type == JSON_PATCH:
            if not isinstance(body, list):
                raise error(400, "a JSON patch must be a list of operations")
            try:
                new = jsonpatch.apply_patch(old, body)
            except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
                raise error(422, f"the JSON patch does not apply: {exc}") from None
        elif content_type == MERGE_PATCH or (content_type == STRATEGIC_MERGE_PATCH and not resource.custom):
            if not isinstance(body, dict):
                raise error(400, "a merge patch must be an object")
            new = merge_patch(copy.deepcopy(old), body)
        else:
            raise error(
                415,
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
            )
        if not isinstance(new, dict) or not isinstance(new.get("metadata"), dict):
            raise error(422, "the patched object has no metadata")
        if new["metadata"].get("resourceVersion"):
            self._precondition(resource, old, new["metadata"]["resourceVersion"])
        return self._update(resource, old, new, subresource)

    def delete(self, resource: ResourceSpec, namespace: str | None, name: str, options: Mapping[str, Any]) -> Obj:
        old = self.get(resource, namespace, name)
        meta = old["metadata"]
        preconditions = options.get("preconditions") or {}
        for field in ("uid", "resourceVersion"):
            if preconditions.get(field) not in (None, meta[field]):
                raise error(
                    409,
                    f"Precondition failed: {field} in precondition: {preconditions[field]}, in object meta: {meta[field]}",
                )
        if meta.get("deletionTimestamp"):
            return old  # already being deleted: waiting for its finalizers
        key = self._key(resource, namespace, name)
        if meta.get("finalizers"):
            new = copy.deepcopy(old)
            new["metadata"].update(deletionTimestamp=_now(), deletionGracePeriodSeconds=0)
            return self._commit(resource, key, "MODIFIED", new, old)
        self._commit(resource, key, "DELETED", copy.deepcopy(old), old)
        details = {"name": name, "group": resource.group, "kind": resource.plural, "uid": meta["uid"]}
        return {"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Success", "details": details}

    # -- watches

    def watch(
        self,
        resource: ResourceSpec,
        namespace: str | None,
        name: str | None,
        selector: Selector,
        sink: Callable[[Obj], None],
        *,
        since: str | None,
        initial_events: bool = False,
    ) -> Watch:
        """Replay what the watcher has not seen, then keep it subscribed until ``unwatch()``.

        Without ``since`` (or "0"), what it has not seen is every current object, as ADDED;
        with it, every retained change after it; ``initial_events`` (``sendInitialEvents``)
        adds the bookmark that ends the initial objects.
        """
        watch = Watch(resource, namespace, name, selector, sink)
        if initial_events or since in (None, "", "0"):
            for _, obj in sorted(self._objects[resource].items()):
                watch.offer(Change(self.resource_version, resource, "ADDED", obj, None))
            if initial_events:  # kopf's settings.watching.initial_streaming waits for this bookmark
                meta = {
                    "resourceVersion": str(self.resource_version),
                    "annotations": {"k8s.io/initial-events-end": "true"},
                }
                sink(
                    {
                        "type": "BOOKMARK",
                        "object": {"apiVersion": resource.api_version, "kind": resource.kind, "metadata": meta},
                    }
                )
        else:
            if not since.isdigit():
                raise error(400, f"invalid resourceVersion {since!r}")
            if int(since) < self._compacted:
                raise error(410, f"too old resource version: {since} ({self._compacted})")
            for change in self._changes:
                if change.rv > int(since) and change.resource == resource:
                    watch.offer(change)
        self._watches[resource].add(watch)
        return watch

    def unwatch(self, watch: Watch) -> None:
        self._watches[watch.resource].discard(watch)

    # -- internals

    @staticmethod
    def _details(resource: ResourceSpec, name: str) -> dict[str, str]:
        return {"name": name, "group": resource.group, "kind": resource.plural}

    def _key(self, resource: ResourceSpec, namespace: str | None, name: str) -> Key:
        return (namespace if resource.namespaced else None, name)

    def _precondition(self, resource: ResourceSpec, old: Obj, resource_version: str) -> None:
        if resource_version != old["metadata"]["resourceVersion"]:
            raise error(
                409,
                f'Operation cannot be fulfilled on {resource.qualified} "{old["metadata"]["name"]}": the object has been '
                "modified; please apply your changes to the latest version and try again",
                **self._details(resource, old["metadata"]["name"]),
            )

    def _update(self, resource: ResourceSpec, old: Obj, new: Obj, subresource: str | None) -> Obj:
        has_status = "status" in resource.subresources
        if has_status and subresource == "status":
            status, new = new.get("status"), copy.deepcopy(old)
            new.pop("status", None)
            if status is not None:
                new["status"] = status
        elif has_status:
            new.pop("status", None)
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
        meta, old_meta = new.setdefault("metadata", {}), old["metadata"]
        for field in ("name", "namespace", "resourceVersion", *SERVER_FIELDS):
            meta.pop(field, None)
            if field in old_meta:
                meta[field] = old_meta[field]
        new.setdefault("apiVersion", old["apiVersion"])
        new.setdefault("kind", old["kind"])
        added = set(meta.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
        if old_meta.get("deletionTimestamp") and added:
            raise error(
                422, "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted"
            )
        if resource.custom and self._content(resource, new) != self._content(resource, old):
            meta["generation"] = old_meta.get("generation", 0) + 1
        if new == old:
            return old  # a no-op: the API server neither bumps resourceVersion nor emits an event
        key = self._key(resource, old_meta.get("namespace"), old_meta["name"])
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return self._commit(resource, key, "DELETED", new, old)
        return self._commit(resource, key, "MODIFIED", new, old)

    @staticmethod
    def _content(resource: ResourceSpec, obj: Obj) -> Obj:
        """What ``generation`` tracks: all but metadata, and all but status with a status subresource."""
        ignored = {"metadata", "status"} if "status" in resource.subresources else {"metadata"}
        return {k: v for k, v in obj.items() if k not in ignored}

    def _commit(self, resource: ResourceSpec, key: Key, kind: str, obj: Obj, old: Obj | None) -> Obj:
        self.resource_version += 1
        obj["metadata"]["resourceVersion"] = str(self.resource_version)
        if kind == "DELETED":
            del self._objects[resource][key]
        else:
            self._objects[resource][key] = obj
        if len(self._changes) == self._changes.maxlen:
            self._compacted = self._changes[0].rv
        change = Change(self.resource_version, resource, kind, obj, old)
        self._changes.append(change)
        if self.commits is not None:
            self.commits.append((time.monotonic(), self.resource_version, resource.plural, key, kind))
        for watch in list(self._watches[resource]):
            watch.offer(change)
        return obj
