"""An emulated Kubernetes API server on loopback, for end-to-end tests without a cluster.

``Cluster`` runs kmock's ``Server`` with the harness's ``Emulator`` (emulator.py, store.py)
in a thread of its own with its own event loop: the test thread blocks, and kopf runs its
own loop (``KopfRunner.__exit__`` joins its thread), so neither may host the server. The
test thread talks to it through the official ``kubernetes`` client (helpers below), which
also proves that client works against it; an operator talks to it through the kubeconfig
from ``kubeconfig()``. Start and stop are bounded by ``timeout``; stop ends every watch
stream first, so nothing is left running.

kmock's ``Server`` swaps aiohttp's resolver class-wide while it runs: clusters in one
process must stop in the reverse order of starting (nesting ``with`` blocks does that).

    with Cluster() as cluster:
        cluster.create("agentworkloads", "default", {"metadata": {"name": "a"}, "spec": {...}})
        cluster.inject(method="PUT", resource="workflows", status=409, times=1)
        cluster.wait_for(lambda: cluster.get("workflows", "default", "a"), ignore=(NotFoundException,))
        assert cluster.requests(verb="update", resource="workflows", code=409) == 1
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
import types
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import aiohttp.test_utils
import aiohttp.web_runner
import aiohttp.web_server
import kmock
import kubernetes.client
import yaml

from testkit.apiserver.emulator import Emulator
from testkit.apiserver.resources import PLATFORM_RESOURCES, ResourceSpec, find
from testkit.apiserver.store import ObjectStore
from testkit.apiserver.traffic import Call, Fault, Wanted

T = TypeVar("T")

SHUTDOWN_GRACE = 0.5  # seconds aiohttp may wait for open connections when the server stops


class _Server(aiohttp.test_utils.RawTestServer):
    """aiohttp's test server (kmock's default) with a short grace period at shutdown.

    aiohttp waits up to 60 s for connections at shutdown, and a connection accepted just as
    the server stops (a client's retry, say) sits idle for all of it. Every handler of the
    emulator ends as soon as it is closed, so a short grace loses nothing.
    """

    async def _make_runner(self, debug: bool = True, **kwargs: Any) -> aiohttp.web_runner.ServerRunner:
        server = aiohttp.web_server.Server(self._handler, loop=self._loop, debug=debug, **kwargs)
        return aiohttp.web_runner.ServerRunner(server, debug=debug, shutdown_timeout=SHUTDOWN_GRACE, **kwargs)


class Cluster:
    """The emulated API server: lifecycle, kubeconfig, client helpers, faults and counts."""

    def __init__(
        self,
        resources: Iterable[ResourceSpec] = PLATFORM_RESOURCES,
        *,
        namespaces: Iterable[str] = ("default",),
        history: int = 10_000,
        timeout: float = 5.0,
    ) -> None:
        """``namespaces`` are created at start; ``history``: changes kept for watch resumption;
        ``timeout`` bounds start, stop and every helper request (seconds)."""
        self.resources = tuple(resources)
        self.timeout = timeout
        self._namespaces = tuple(namespaces)
        self._history = history
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._emulator: Emulator | None = None
        self._port: int | None = None
        self._client: kubernetes.client.ApiClient | None = None

    # -- lifecycle

    def start(self) -> Cluster:
        if self._thread is not None or self._emulator is not None:
            raise RuntimeError("a Cluster starts once: make a new one")
        self._thread = threading.Thread(target=self._run, name="kmock-cluster", daemon=True)
        self._thread.start()
        try:
            if not self._ready.wait(self.timeout):
                raise TimeoutError(f"the emulator did not start within {self.timeout} s")
            if self._failure is not None:
                raise RuntimeError("the emulator failed to start") from self._failure
            for namespace in self._namespaces:
                self.create("namespaces", None, {"metadata": {"name": namespace}})
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """End watch streams, stop the server and join its thread (idempotent)."""
        if self._client is not None:
            self._client.close()  # type: ignore[no-untyped-call]
            self._client = None
        if self._thread is None:
            return
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):  # a closed loop: the thread is ending on its own
                self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(self.timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"the emulator thread did not stop within {self.timeout} s")
        self._thread = None

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: types.TracebackType | None
    ) -> None:
        self.stop()
        if exc is None and self.emulator.crashes:
            raise AssertionError("the emulator itself failed:\n" + "\n".join(self.emulator.crashes))

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve(loop))
        except BaseException as exc:
            self._failure = exc
        finally:
            self._ready.set()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        emulator = Emulator(store=ObjectStore(self.resources, history=self._history))
        stopping = asyncio.Event()
        async with kmock.Server(emulator, server_cls=_Server) as server:
            self._emulator, self._loop, self._stopping, self._port = emulator, loop, stopping, server.port
            self._ready.set()
            await stopping.wait()
            await emulator.close()

    # -- where it is

    @property
    def emulator(self) -> Emulator:
        if self._emulator is None:
            raise RuntimeError("the cluster is not started")
        return self._emulator

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("the cluster is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def resource_version(self) -> int:
        """The latest resourceVersion handed out (the store's global counter)."""
        return self.emulator.store.resource_version

    @property
    def open_watches(self) -> int:
        """How many watch streams are open now (kopf keeps one per resource and namespace)."""
        return self.emulator.store.watching

    @property
    def held_requests(self) -> int:
        """How many requests an injected delay is holding now: a test can act while one waits."""
        return self.emulator.held

    def kubeconfig(self, path: str | os.PathLike[str], *, namespace: str = "default") -> Path:
        """Write a kubeconfig for this cluster (plain http, no credentials); return its path.

        kopf's default login (``login_via_client``, as the ``kubernetes`` package is installed)
        and ``kubernetes.config.load_kube_config`` both read it from ``$KUBECONFIG``, which the
        client takes when ``kubernetes.config`` is imported: set it in an operator process's
        environment, not later in a process that has imported the client already.
        """
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "kmock", "cluster": {"server": self.url}}],
            "users": [{"name": "kmock", "user": {}}],
            "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "kmock", "namespace": namespace}}],
            "current-context": "kmock",
        }
        target = Path(path)
        target.write_text(yaml.safe_dump(config))
        return target

    # -- the official client, and helpers over it

    @property
    def api_client(self) -> kubernetes.client.ApiClient:
        """A client configured for this cluster only (the global default stays untouched)."""
        if self._client is None:
            self._client = kubernetes.client.ApiClient(kubernetes.client.Configuration(host=self.url))
        return self._client

    def resource(self, name: str) -> ResourceSpec:
        """A served resource by ``plural`` or ``plural.group`` (``events`` is the core one)."""
        return find(self.resources, name)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """One request through the official client; errors raise its ``ApiException``s."""
        url = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {"Accept": "application/json", "Content-Type": content_type}
        client = self.api_client
        response = client.call_api(method, url, header_params=headers, body=body, _request_timeout=self.timeout)
        response.read()  # type: ignore[no-untyped-call]
        return client.response_deserialize(response, {"2XX": "object"}).data

    def create(self, resource: str, namespace: str | None, body: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.request("POST", self.resource(resource).path(namespace), body)
        return result

    def get(self, resource: str, namespace: str | None, name: str, *, subresource: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", self.resource(resource).path(namespace, name, subresource))
        return result

    def objects(
        self, resource: str, namespace: str | None = None, *, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """The listed objects (all namespaces when ``namespace`` is None)."""
        query = {"labelSelector": label_selector} if label_selector else None
        items: list[dict[str, Any]] = self.request("GET", self.resource(resource).path(namespace), query=query)["items"]
        return items

    def patch(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        patch: Mapping[str, Any] | list[dict[str, Any]],
        *,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        """A merge patch (a mapping) or a JSON patch (a list of operations)."""
        kind = "application/json-patch+json" if isinstance(patch, list) else "application/merge-patch+json"
        path = self.resource(resource).path(namespace, name, subresource)
        result: dict[str, Any] = self.request("PATCH", path, patch, content_type=kind)
        return result

    def replace(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        body: Mapping[str, Any],
        *,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        """PUT: ``body`` must carry the current ``metadata.resourceVersion``."""
        result: dict[str, Any] = self.request("PUT", self.resource(resource).path(namespace, name, subresource), body)
        return result

    def delete(self, resource: str, namespace: str | None, name: str, **options: Any) -> dict[str, Any]:
        """``options`` are DeleteOptions, e.g. ``preconditions={...}``: a Status when deleted, the
        object when finalizers hold it."""
        result: dict[str, Any] = self.request("DELETE", self.resource(resource).path(namespace, name), options)
        return result

    @staticmethod
    def wait_for(
        predicate: Callable[[], T],
        timeout: float = 5.0,
        *,
        interval: float = 0.01,
        ignore: tuple[type[BaseException], ...] = (),
    ) -> T:
        """Poll until ``predicate()`` is truthy and return it; errors in ``ignore`` count as falsy."""
        deadline = time.monotonic() + timeout
        while True:
            last: object
            try:
                last = result = predicate()
                if result:
                    return result
            except ignore as exc:
                last = exc
            if time.monotonic() >= deadline:
                raise TimeoutError(f"not true within {timeout} s; last: {last!r}")
            time.sleep(interval)

    # -- faults and observation

    def inject(
        self,
        *,
        status: int | None = None,
        delay: float = 0.0,
        retry_after: int | None = None,
        times: int | None = 1,
        method: str | None = None,
        verb: Wanted = None,
        resource: Wanted = None,
        subresource: Wanted = None,
        namespace: Wanted = None,
        name: Wanted = None,
    ) -> None:
        """Make the next ``times`` matching requests wait ``delay`` s and/or fail with ``status``.

        Filters left at None match anything; ``subresource=""`` means the object itself.
        The fault applies before the request touches any state. ``times=None``: until
        ``clear_faults()``. ``retry_after`` seconds go in the Status and a ``Retry-After`` header.
        """
        wanted = {
            "method": method.upper() if method else None,
            "verb": verb,
            "resource": resource,
            "subresource": subresource,
            "namespace": namespace,
            "name": name,
        }
        self.emulator.faults.add(Fault(wanted=wanted, status=status, delay=delay, times=times, retry_after=retry_after))

    def in_loop(self, action: Callable[[], T]) -> T:
        """Run ``action`` on the emulator's event loop (where the store may be touched) and
        return its result: writes committed this way reach watchers as any other write."""
        if self._loop is None:
            raise RuntimeError("the cluster is not started")

        async def call() -> T:
            return action()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(self.timeout)

    def compact(self) -> int:
        """Forget the change history (etcd's compaction): older watches and continue tokens get 410."""
        return self.in_loop(self.emulator.store.compact)

    def bookmark(self) -> int:
        """A BOOKMARK to every watch that allows them; how many were sent."""
        return self.in_loop(self.emulator.bookmark)

    def drop_watches(self) -> int:
        """End every open watch stream (clients see the connection end); how many."""
        return self.in_loop(self.emulator.drop_watches)

    def clear_faults(self) -> None:
        self.emulator.faults.clear()

    def requests(
        self,
        *,
        method: str | None = None,
        verb: Wanted = None,
        resource: Wanted = None,
        group: Wanted = None,
        subresource: Wanted = None,
        namespace: Wanted = None,
        name: Wanted = None,
        code: Wanted = None,
        path: Wanted = None,
        agent: Wanted = None,
    ) -> int:
        """How many requests matched all the given filters (a collection means any of them)."""
        return self.emulator.log.count(
            method=method.upper() if method else None,
            verb=verb,
            resource=resource,
            group=group,
            subresource=subresource,
            namespace=namespace,
            name=name,
            code=code,
            path=path,
            agent=agent,
        )

    def calls(self, **wanted: Wanted) -> set[Call]:
        """The distinct requests matching the filters (as ``requests`` takes them, plus ``agent``)."""
        return self.emulator.log.calls(**wanted)

    def reset_requests(self) -> None:
        self.emulator.log.reset()
