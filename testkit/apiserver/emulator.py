"""kmock's Kubernetes scaffold with the store's semantics behind it, over HTTP.

What is kmock's here: the HTTP server (``kmock.Server``), discovery (``/api``, ``/apis``,
``/apis/<group>[/<version>]``, ``/version``, built from the declared resources) and its
``KubernetesError``. What is not, and why:

- Requests are routed here, not through kmock's reaction DSL, whose matching re-scans every
  request recorded so far (see traffic.py); kmock records nothing, ``RequestLog`` counts.
- Paths are parsed here: kmock 0.8's parser fails on ``/api/v1/namespaces`` (500) and reads
  ``/api/v1/namespaces/<name>`` as a namespace, not as the Namespace object.
- Objects live in ``ObjectStore`` (store.py) rather than kmock's emulator, which lacks the
  API server's rules; watches are streamed here from the store's subscriptions.

Every watch stream and every injected delay ends when ``close()`` is called, so the server
can shut down without waiting for aiohttp's 60-second grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp.web
import attrs
import kmock

from testkit.apiserver import selectors, status
from testkit.apiserver.resources import ResourceSpec
from testkit.apiserver.store import Obj, ObjectStore
from testkit.apiserver.traffic import Call, Faults, RequestLog

CLIENT_GONE = 499  # logged for requests the client abandoned before an answer (nginx's code)


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


@dataclass(frozen=True)
class Route:
    """A resource request: which verb, on which resource, object and subresource."""

    verb: str
    resource: ResourceSpec
    namespace: str | None
    name: str | None
    subresource: str | None

    def call(self, method: str) -> Call:
        return Call(
            method=method,
            verb=self.verb,
            group=self.resource.group,
            resource=self.resource.plural,
            subresource=self.subresource or "",
            namespace=self.namespace or "",
            name=self.name or "",
        )


def route(store: ObjectStore, method: str, path: str, query: Mapping[str, str]) -> Route | None:
    """Parse a resource path; ``None`` for anything else (discovery, /version, unknown)."""
    parts = path.strip("/").split("/")
    if parts[0] == "api" and len(parts) > 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis" and len(parts) > 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) > 2:
        inner = store.lookup(group, version, rest[2])
        if inner is not None and inner.namespaced:  # else: a namespace's own subresource
            namespace, rest = rest[1], rest[2:]
    resource = store.lookup(group, version, rest[0])
    if resource is None:
        raise status.error(404, f"the server could not find the requested resource: {path}")
    name = rest[1] if len(rest) > 1 else None
    subresource = "/".join(rest[2:]) or None
    if resource.namespaced and name is not None and namespace is None:
        raise status.error(404, f"a namespaced {resource.plural} object needs a namespace in the path: {path}")
    if method == "GET" and query.get("watch") in ("true", "1"):
        verb = "watch"
    elif name is None:
        verb = {"GET": "list", "POST": "create", "DELETE": "deletecollection"}.get(method, "")
    else:
        verb = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "")
    if verb not in resource.verbs:
        raise status.error(405, f"{method} is not supported on {path}")
    if verb == "create" and resource.namespaced and namespace is None:
        raise status.error(405, f"create {resource.plural} needs a namespace in the path: {path}")
    return Route(verb, resource, namespace, name, subresource)


@attrs.define(kw_only=True)
class Emulator(kmock.KubernetesScaffold):
    """An API server on kmock's scaffold: discovery from kmock, objects from the store."""

    store: ObjectStore
    faults: Faults = attrs.field(factory=Faults)
    log: RequestLog = attrs.field(factory=RequestLog)
    crashes: list[str] = attrs.field(factory=list)  # tracebacks of the harness's own failures
    held: int = attrs.field(default=0, init=False)  # requests being held by a delay fault now
    _closing: asyncio.Event = attrs.field(factory=asyncio.Event, init=False)
    _streams: set[asyncio.Queue[Obj | None]] = attrs.field(factory=set, init=False)
    _bookmarks: dict[asyncio.Queue[Obj | None], ResourceSpec] = attrs.field(factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        for spec in self.store.resources:
            self.resources[kmock.resource(spec.group, spec.version, spec.plural)] = kmock.ResourceInfo(
                kind=spec.kind,
                singular=spec.kind.lower(),
                namespaced=spec.namespaced,
                verbs=spec.verbs,
                subresources=spec.subresources,
                shortnames=spec.shortnames,
            )

    def bookmark(self) -> int:
        """Send a BOOKMARK at the current resourceVersion to every watch that allows them
        (the API server sends one about every minute); how many were sent."""
        for events, resource in self._bookmarks.items():
            meta = {"resourceVersion": str(self.store.resource_version)}
            events.put_nowait(
                {
                    "type": "BOOKMARK",
                    "object": {"apiVersion": resource.api_version, "kind": resource.kind, "metadata": meta},
                }
            )
        return len(self._bookmarks)

    def drop_watches(self) -> int:
        """End every open watch stream, as an API server going away does; how many."""
        for events in self._streams:
            events.put_nowait(None)
        return len(self._streams)

    async def close(self) -> None:
        """End every watch stream and held request, so that the server stops promptly."""
        self._closing.set()
        for stream in self._streams:
            stream.put_nowait(None)

    async def __call__(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        await raw.read()
        agent = raw.headers.get("User-Agent", "").split("/")[0]
        call = Call(method=raw.method, path=raw.path, agent=agent)
        stream = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
        response: aiohttp.web.StreamResponse | None = None
        try:
            try:
                target = route(self.store, raw.method, raw.path, raw.query)
                if target is not None:
                    call = dataclasses.replace(target.call(raw.method), agent=agent)
                await self._inject(call)
                response = await (self._discover(raw) if target is None else self._serve(raw, target, stream))
            except kmock.KubernetesError as exc:
                response = aiohttp.web.json_response(
                    status.body(exc), status=exc.status, dumps=_dumps, headers=status.headers(exc)
                )
            except Exception as exc:
                self.crashes.append(traceback.format_exc())
                response = await self._render_error(exc)  # kmock's: a 500 Status with the traceback
            return response
        finally:
            # A watch that the client closed never returns: its stream tells how it went.
            code = response.status if response is not None else stream.status if stream.prepared else CLIENT_GONE
            self.log.record(call, code)

    async def _inject(self, call: Call) -> None:
        fault = self.faults.take(call)
        if fault is None:
            return
        if fault.delay:
            self.held += 1
            try:
                with contextlib.suppress(TimeoutError):  # held until the delay ends or the server closes
                    await asyncio.wait_for(self._closing.wait(), fault.delay)
            finally:
                self.held -= 1
        if fault.status is not None:
            details: dict[str, Any] = {} if fault.retry_after is None else {"retryAfterSeconds": fault.retry_after}
            raise status.error(fault.status, f"injected by the test: {fault.status}", **details)

    async def _discover(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        if raw.method != "GET":
            raise status.error(405, f"{raw.method} is not supported on {raw.path}")
        parts = [part for part in raw.path.split("/") if part]

        def about(group: str, version: str | None = None) -> kmock.Request:
            return kmock.Request(resource=kmock.resource(group=group, version=version))

        payload: Any  # kmock's discovery answers are plain dicts, typed as its wider Payload
        match parts:
            case []:
                payload = await self._serve_root(kmock.Request())
            case ["version"]:
                payload = await self._serve_server_version(kmock.Request())
            case ["api"]:  # kmock omits this field, without which the typed client fails
                payload = await self._serve_api(kmock.Request())
                payload["serverAddressByClientCIDRs"] = [{"clientCIDR": "0.0.0.0/0", "serverAddress": raw.host}]
            case ["api", version]:  # kmock says "/v1": the core group has no "<group>/" prefix
                payload = await self._serve_version(about("", version))
                payload["groupVersion"] = version
            case ["apis"]:
                payload = await self._serve_apis(kmock.Request())
            case ["apis", group]:
                payload = await self._serve_group(about(group))
            case ["apis", group, version]:
                payload = await self._serve_version(about(group, version))
            case _:
                raise status.error(404, f"the server could not find the requested resource: {raw.path}")
        return aiohttp.web.json_response(payload, dumps=_dumps)

    async def _serve(
        self, raw: aiohttp.web.BaseRequest, target: Route, stream: aiohttp.web.StreamResponse
    ) -> aiohttp.web.StreamResponse:
        store, res, ns, sub = self.store, target.resource, target.namespace, target.subresource
        name = target.name or ""  # set for every verb below but list and create
        if raw.content_type == "application/apply-patch+yaml":  # its body is YAML: say why it fails
            raise status.error(415, "server-side apply is not emulated: use a merge or JSON patch")
        body = await self._body(raw)
        code = 200
        match target.verb:
            case "watch":
                return await self._watch(raw, target, stream)
            case "list":
                limit = raw.query.get("limit")
                if limit is not None and not limit.isdigit():
                    raise status.error(400, f"invalid limit {limit!r}")
                obj = store.list(
                    res,
                    ns,
                    self._selector(raw),
                    limit=int(limit) if limit else None,
                    continue_token=raw.query.get("continue"),
                )
            case "get":
                obj = store.get(res, ns, name, sub)
            case "create":
                obj, code = store.create(res, ns, body), 201
            case "update":
                obj = store.replace(res, ns, name, body, sub)
            case "patch":
                obj = store.patch(res, ns, name, body, raw.content_type, sub)
            case "delete":
                options = dict(body) if isinstance(body, dict) else {}  # DeleteOptions (preconditions), if any
                obj = store.delete(res, ns, name, options)
            case _:
                raise status.error(405, f"{raw.method} is not supported on {raw.path}")
        return aiohttp.web.json_response(obj, status=code, dumps=_dumps)

    @staticmethod
    async def _body(raw: aiohttp.web.BaseRequest) -> Any:
        data = await raw.read()
        if not data:
            return None
        try:
            return json.loads(data)
        except ValueError:
            raise status.error(400, "the request body is not valid JSON") from None

    @staticmethod
    def _selector(raw: aiohttp.web.BaseRequest) -> selectors.Selector:
        by_labels = selectors.labels(raw.query.get("labelSelector", ""))
        by_fields = selectors.fields(raw.query.get("fieldSelector", ""))
        return lambda obj: by_labels(obj) and by_fields(obj)

    async def _watch(
        self, raw: aiohttp.web.BaseRequest, target: Route, stream: aiohttp.web.StreamResponse
    ) -> aiohttp.web.StreamResponse:
        timeout = raw.query.get("timeoutSeconds")
        if timeout is not None and not timeout.isdigit():
            raise status.error(400, f"invalid timeoutSeconds {timeout!r}")
        events: asyncio.Queue[Obj | None] = asyncio.Queue()
        watch = None
        try:
            watch = self.store.watch(
                target.resource,
                target.namespace,
                target.name,
                self._selector(raw),
                events.put_nowait,
                since=raw.query.get("resourceVersion"),
                initial_events=raw.query.get("sendInitialEvents") == "true",
            )
        except kmock.KubernetesError as exc:
            if exc.status != 410:
                raise
            # As the API server: a watch from a compacted resourceVersion is an in-stream ERROR.
            events.put_nowait({"type": "ERROR", "object": status.body(exc)})
            events.put_nowait(None)
        if self._closing.is_set():
            events.put_nowait(None)
        self._streams.add(events)
        if raw.query.get("allowWatchBookmarks") == "true":
            self._bookmarks[events] = target.resource
        try:
            await stream.prepare(raw)
            async with asyncio.timeout(int(timeout) if timeout is not None else None):
                while (event := await events.get()) is not None:
                    await stream.write(_dumps(event).encode() + b"\n")
        except (TimeoutError, ConnectionResetError):
            pass  # the server-side timeoutSeconds elapsed, or the client has gone
        finally:
            self._streams.discard(events)
            self._bookmarks.pop(events, None)
            if watch is not None:
                self.store.unwatch(watch)
        with contextlib.suppress(ConnectionResetError):  # the client went first
            await stream.write_eof()
        return stream
