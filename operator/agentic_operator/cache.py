"""The watch cache: the newest copy of each object, kept small.

A Workflow as the API serves it is ~4 KB of JSON and ~22 KiB as Python objects (managed
fields, the template's copy, every node's every field); the operator reads a handful of
those fields. :func:`compact_workflow` keeps exactly what :func:`agentic_operator.argo.
workflow_status`, the ownership checks and the reconcile core read (a test compares their
answers on compact and full objects over Argo's own fixtures), with nodes decompressed
once here rather than on every reconcile. Writes never start from a cached Workflow: a
resume or stop reads the object fresh.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from agentic_operator import argo

Key = tuple[str, str]  # namespace, name

_META = ("name", "namespace", "uid", "resourceVersion", "generation", "labels", "ownerReferences", "deletionTimestamp")
_STATUS = ("phase", "message", "startedAt", "finishedAt", "progress", "offloadNodeStatusVersion")
_NODE = ("id", "name", "displayName", "templateName", "templateRef", "startedAt", "finishedAt", "message", "children")


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}  # a malformed object never raises here


def key_of(obj: Mapping[str, Any]) -> Key:
    meta = _metadata(obj)
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


def version(obj: Mapping[str, Any]) -> int | None:
    """resourceVersion as an integer, when it is one (etcd revisions are)."""
    value = _metadata(obj).get("resourceVersion")
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _intern(value: Any) -> Any:
    return sys.intern(value) if isinstance(value, str) else value


def _parameter(param: Any) -> dict[str, Any] | None:
    if not isinstance(param, dict):
        return None
    out: dict[str, Any] = {"name": param.get("name")}
    if "value" in param:
        out["value"] = param["value"]
    value_from = param.get("valueFrom")
    if isinstance(value_from, dict):  # only whether it is supplied, and its default
        out["valueFrom"] = {k: value_from[k] for k in ("supplied", "default") if k in value_from}
    return out


def _artifact(artifact: Any) -> dict[str, Any] | None:
    if not isinstance(artifact, dict):
        return None
    s3 = artifact.get("s3")
    out: dict[str, Any] = {"name": artifact.get("name")}
    if isinstance(s3, dict):  # whole: a full location (endpoint, bucket, key) reads differently
        out["s3"] = s3
    return out


def _node(node: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: _intern(node[k]) for k in _NODE if k in node}
    out["type"], out["phase"] = _intern(node.get("type")), _intern(node.get("phase"))
    outputs = node.get("outputs")
    if isinstance(outputs, dict):
        kept: dict[str, Any] = {}
        for field, shrink in (("parameters", _parameter), ("artifacts", _artifact)):
            if isinstance(outputs.get(field), list):
                kept[field] = [x for x in map(shrink, outputs[field]) if x is not None]
        out["outputs"] = kept
    return out


def _section(obj: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = obj.get(name)
    return value if isinstance(value, dict) else {}


def compact_workflow(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a Workflow the operator reads; compressed nodes come out decoded."""
    meta, spec, status = (_section(obj, k) for k in ("metadata", "spec", "status"))
    out_status: dict[str, Any] = {k: _intern(status[k]) for k in _STATUS if k in status}
    bucket = (((status.get("artifactRepositoryRef") or {}).get("artifactRepository") or {}).get("s3") or {}).get(
        "bucket"
    )
    if bucket:
        out_status["artifactRepositoryRef"] = {"artifactRepository": {"s3": {"bucket": bucket}}}
    try:
        nodes = argo.nodes_of(obj)
    except (ValueError, OSError, EOFError):  # unreadable: keep it as sent, so the status says so
        out_status["compressedNodes"] = status.get("compressedNodes")
    else:
        if nodes:
            out_status["nodes"] = {_intern(i): _node(n) for i, n in nodes.items()}
    stored = status.get("storedTemplates")
    if isinstance(stored, dict):  # only where their artifacts are archived
        out_status["storedTemplates"] = {k: _archive(t) for k, t in stored.items()}
    stored_spec = status.get("storedWorkflowTemplateSpec")
    if isinstance(stored_spec, dict) and isinstance(stored_spec.get("templates"), list):
        out_status["storedWorkflowTemplateSpec"] = {"templates": [_archive(t) for t in stored_spec["templates"]]}
    out_spec: dict[str, Any] = {k: spec[k] for k in ("suspend", "shutdown") if k in spec}
    if isinstance(spec.get("templates"), list):
        out_spec["templates"] = [_archive(t) for t in spec["templates"]]
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": {k: meta[k] for k in _META if k in meta},
        "spec": out_spec,
        "status": out_status,
    }


def _archive(template: Any) -> dict[str, Any]:
    """A template as far as the operator reads it: its name and archive location."""
    if not isinstance(template, dict):
        return {}
    return {k: template[k] for k in ("name", "archiveLocation") if k in template}


def compact_workload(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An AgentWorkload without its managed fields (everything else is read or compared)."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or "managedFields" not in meta:
        return dict(obj)
    return {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}


class Store:
    """The newest copy of each object the watches (or our own writes) have shown.

    Our writes are stored as soon as the API answers them, so the next reconcile reads
    its own writes even before the watch echoes them; a watch event older than what is
    stored does not roll the cache back. Kubernetes calls resourceVersion opaque; watch
    events arrive in order, so the only race is our write against an event already in
    flight, and only integer versions (etcd revisions, kine's ids) are compared: any
    other form falls back to "newest arrival wins".
    Ref: https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions
    """

    def __init__(self) -> None:
        self._objects: dict[Key, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def put(self, obj: Mapping[str, Any]) -> bool:
        """Store ``obj`` unless what is stored is newer; whether it was stored."""
        key = key_of(obj)
        with self._lock:
            old = self._objects.get(key)
            new_v, old_v = version(obj), version(old) if old else None
            if old is None or new_v is None or old_v is None or new_v >= old_v:
                self._objects[key] = dict(obj)
                return True
            return False

    def delete(self, key: Key) -> dict[str, Any] | None:
        with self._lock:
            return self._objects.pop(key, None)

    def get(self, key: Key) -> dict[str, Any] | None:
        with self._lock:
            return self._objects.get(key)

    def keys_in(self, namespace: str | None = None) -> list[Key]:
        """The keys held, of one namespace or (None) of all."""
        with self._lock:
            return [k for k in self._objects if namespace is None or k[0] == namespace]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        with self._lock:
            return iter(list(self._objects.values()))

    def __len__(self) -> int:
        return len(self._objects)
