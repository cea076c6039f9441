"""Plain-dict access to the real API server for the tests (any kind, found by discovery).

The official client's typed models get in the way of tests that submit hand-written (and
deliberately bad) objects; this wraps its dynamic client so every call takes and returns
dicts and raises the client's ``ApiException`` with the server's own status and message.

    kube = Kube(cluster.client())
    kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {...}})
    kube.get("v1", "ConfigMap", "name", namespace="ns")
    kube.create(obj, dry_run=True)       # server-side dry run: every admission step, no write
    kube.send("POST", path, body_bytes)  # exact bytes and query, the status and Warnings back
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import kubernetes.client
import kubernetes.dynamic
from kubernetes.client.exceptions import ApiException


@dataclass(frozen=True)
class Answer:
    """A raw answer: status code, decoded body, and the server's Warning headers."""

    status: int
    body: dict[str, Any]
    warnings: tuple[str, ...]


class Kube:
    def __init__(self, client: kubernetes.client.ApiClient) -> None:
        self.client = client
        self._dynamic = kubernetes.dynamic.DynamicClient(client)  # type: ignore[no-untyped-call]

    def resource(self, api_version: str, kind: str) -> Any:
        return self._dynamic.resources.get(api_version=api_version, kind=kind)

    def invalidate(self) -> None:
        """Forget discovery, e.g. after a CRD was created."""
        self._dynamic = kubernetes.dynamic.DynamicClient(self.client)  # type: ignore[no-untyped-call]

    @staticmethod
    def _query(dry_run: bool, field_manager: str | None) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if dry_run:
            query["dry_run"] = "All"
        if field_manager:
            query["field_manager"] = field_manager
        return query

    def create(
        self, obj: Mapping[str, Any], *, dry_run: bool = False, field_manager: str | None = None
    ) -> dict[str, Any]:
        namespace = (obj.get("metadata") or {}).get("namespace")
        resource = self.resource(obj["apiVersion"], obj["kind"])
        created = resource.create(body=dict(obj), namespace=namespace, **self._query(dry_run, field_manager))
        return dict(created.to_dict())

    def get(self, api_version: str, kind: str, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        return dict(self.resource(api_version, kind).get(name=name, namespace=namespace).to_dict())

    def find(self, api_version: str, kind: str, name: str, *, namespace: str | None = None) -> dict[str, Any] | None:
        """The object, or None when the server says 404."""
        try:
            return self.get(api_version, kind, name, namespace=namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def objects(
        self, api_version: str, kind: str, *, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        answer = self.resource(api_version, kind).get(namespace=namespace, label_selector=label_selector)
        return [dict(item) for item in answer.to_dict()["items"]]

    def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch: Mapping[str, Any] | list[dict[str, Any]],
        *,
        namespace: str | None = None,
        subresource: str | None = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        """A merge patch (a mapping) or a JSON patch (a list), unless ``content_type`` says."""
        kind_of = content_type or (
            "application/json-patch+json" if isinstance(patch, list) else "application/merge-patch+json"
        )
        resource = self.resource(api_version, kind)
        if subresource:
            resource = getattr(resource, subresource)
        return dict(resource.patch(body=patch, name=name, namespace=namespace, content_type=kind_of).to_dict())

    def replace(self, obj: Mapping[str, Any], *, subresource: str | None = None) -> dict[str, Any]:
        """PUT: ``obj`` carries its ``metadata.resourceVersion`` (a stale one is a 409)."""
        meta = obj["metadata"]
        resource = self.resource(obj["apiVersion"], obj["kind"])
        if subresource:
            resource = getattr(resource, subresource)
        return dict(resource.replace(body=dict(obj), name=meta["name"], namespace=meta.get("namespace")).to_dict())

    def delete(
        self, api_version: str, kind: str, name: str, *, namespace: str | None = None, **options: Any
    ) -> dict[str, Any]:
        """``options`` are DeleteOptions, e.g. ``propagation_policy="Foreground"``."""
        answer = self.resource(api_version, kind).delete(name=name, namespace=namespace, **options)
        return dict(answer.to_dict())

    def watch(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        resource_version: str | None = None,
        timeout: int = 30,
    ) -> Iterator[dict[str, Any]]:
        """Watch events as dicts (``type`` and ``raw_object``) until ``timeout`` seconds."""
        resource = self.resource(api_version, kind)
        for event in self._dynamic.watch(  # type: ignore[no-untyped-call]
            resource, namespace=namespace, resource_version=resource_version, timeout=timeout
        ):
            yield {"type": event["type"], "object": event["raw_object"]}

    def namespace(self, name: str, *, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Create a namespace (or return the one there)."""
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(labels or {})}}
        try:
            return self.create(body)
        except ApiException as exc:
            if exc.status != 409:
                raise
            return self.get("v1", "Namespace", name)

    def send(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        query: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Answer:
        """One request with exactly these bytes (JSON the client would not write, such as
        NaN, goes out as it is), any query (e.g. ``fieldValidation=Strict``, what kubectl
        sends); never raises for an HTTP status."""
        configuration = self.client.configuration
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        if token := (configuration.api_key or {}).get("authorization"):
            headers["Authorization"] = token
        url = configuration.host + path
        if query:
            url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
        answer = self.client.rest_client.pool_manager.request(method, url, body=body, headers=headers)
        warnings = tuple(answer.headers.getlist("Warning"))
        text = answer.data.decode(errors="replace")
        return Answer(answer.status, json.loads(text) if text.startswith("{") else {"message": text}, warnings)

    def path(self, obj: Mapping[str, Any]) -> str:
        """The collection path an object is created in (found by discovery)."""
        namespace = (obj.get("metadata") or {}).get("namespace")
        return str(self.resource(obj["apiVersion"], obj["kind"]).path(namespace=namespace))
