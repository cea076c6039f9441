"""The kopf adapter: watches feed the caches and a work queue; workers reconcile keys.

Only ``@kopf.on.event`` handlers are used: they keep no state in the watched objects (no
annotations, no finalizers), so deleting an AgentWorkload never waits for the operator,
and kopf's event handlers never retry on their own. Retries, backoff, requeues at
timeouts and the periodic resync are the work queue's, as in client-go controllers:

- an AgentWorkload event updates the workload cache and queues its key;
- a Workflow event (Workflows labelled ``app.kubernetes.io/managed-by=agentic-operator``)
  updates the Workflow cache and queues its owner's key;
- a worker takes a key, runs :class:`agentic_operator.worker.Worker` in a thread (the
  ``kubernetes`` client is synchronous), and requeues it as the outcome says;
- every ``resync_seconds`` all known keys are queued again: a safety net, not the driver.

One replica runs, standalone (no kopf peering), with the Deployment's Recreate strategy:
kopf's peering is its own CRD scheme rather than Lease election and freezes during
rolling updates (nolar/kopf#734); Recreate guarantees the old pod is gone first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import kopf
from aiohttp import web

from agentic_operator import __version__, api, argo_names
from agentic_operator.decision import Policy
from agentic_operator.kube import Kube, RetryAfter, load_config
from agentic_operator.metrics import CONTENT_TYPE, Metrics
from agentic_operator.settings import Settings
from agentic_operator.worker import Key, Store, Worker, key_of, owner_key
from agentic_operator.workflows import WorkflowManager
from agentic_operator.workqueue import WorkQueue

log = logging.getLogger(__name__)
registry = kopf.OperatorRegistry()
PROBE_SECONDS = 2.0  # /readyz asks the API server again when its last answer is older


@dataclass
class Runtime:
    """Everything the handlers share (kopf passes it as ``memo.runtime``)."""

    settings: Settings
    worker: Worker
    metrics: Metrics
    # A cheap request the API server must answer for the operator to be ready (raises if not).
    probe: Callable[[], object] = lambda: None
    queue: WorkQueue[Key] = field(default_factory=WorkQueue)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    ready: bool = False
    api_answers: bool = False  # the last probe's result
    probed_at: float = float("-inf")
    probing: asyncio.Task[None] | None = None

    async def work(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                outcome = await asyncio.to_thread(self.worker.reconcile, key)
            except Exception as exc:
                delay = self.queue.retry(key)
                self.metrics.reconciles.labels("error").inc()
                self.metrics.errors.labels(type(exc).__name__).inc()
                log.warning(
                    "reconcile of %s/%s failed (%s: %s); retrying in %.1fs", *key, type(exc).__name__, exc, delay
                )
            else:
                self.metrics.reconciles.labels("ok").inc()
                if outcome.backoff:
                    self.queue.retry(key)
                else:
                    self.queue.forget(key)
                if outcome.requeue_after is not None:  # a deadline already past queues it now
                    self.queue.add(key, after=outcome.requeue_after)
            finally:
                self.queue.done(key)

    async def resync(self) -> None:
        while True:
            await asyncio.sleep(self.settings.resync_seconds)
            for workload in self.worker.workloads:
                self.queue.add(key_of(workload))

    async def probe_api(self) -> None:
        """Ask the API server once; /readyz reports the answer from then on."""
        try:
            await asyncio.to_thread(self.probe)
        except Exception as exc:
            if self.api_answers:
                log.warning("the API server does not answer (%s: %s)", type(exc).__name__, exc)
            self.api_answers = False
        else:
            self.api_answers = True
        self.probed_at = asyncio.get_running_loop().time()

    def api_ready(self) -> bool:
        """Whether the API server answered the last probe; starts another in the background
        when that one is older than ``PROBE_SECONDS``. A probe costs one discovery request
        per readiness probe (the kubelet's period), none while nobody asks; it never holds
        the answer: the kubelet gives /readyz 1 s by default, and an unreachable server
        would take the client's timeout."""
        stale = asyncio.get_running_loop().time() - self.probed_at >= PROBE_SECONDS
        if stale and (self.probing is None or self.probing.done()):
            self.probing = asyncio.create_task(self.probe_api(), name="api-probe")
        return self.api_answers

    async def serve_http(self) -> None:
        """/healthz (alive), /readyz (started, and the API server answered), /metrics (Prometheus)."""

        async def healthz(_: web.Request) -> web.Response:
            alive = bool(self.tasks) and not any(t.done() for t in self.tasks)
            return web.Response(status=200 if alive else 503, text="ok" if alive else "workers stopped")

        async def readyz(_: web.Request) -> web.Response:
            if not self.ready:
                return web.Response(status=503, text="starting")
            if not self.api_ready():
                return web.Response(status=503, text="the API server has not answered")
            return web.Response(status=200, text="ready")

        async def metrics(_: web.Request) -> web.Response:
            return web.Response(body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

        app = web.Application()
        app.add_routes([web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics)])
        # A scraper's keep-alive connection would otherwise hold shutdown for aiohttp's 60 s.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, "0.0.0.0", self.settings.http_port).start()
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


def build(settings: Settings, policy: Policy | None = None) -> Runtime:
    """Wire the runtime from settings: API clients from the kube config, the policy engine."""
    import kubernetes.client
    from kubernetes.client.exceptions import ApiException

    from agentic_operator.policy import policy_from_settings

    load_config()
    client = kubernetes.client.ApiClient()
    client.user_agent = f"agentic-operator/{__version__}"  # names us in audit logs
    objects = RetryAfter(kubernetes.client.CustomObjectsApi(client))
    core = RetryAfter(kubernetes.client.CoreV1Api(client))
    workloads, workflows = Store(), Store()
    metrics = Metrics(lambda: list(workloads))
    worker = Worker(
        workloads=workloads,
        workflows=workflows,
        manager=WorkflowManager(objects, ApiException, request_timeout=settings.api_timeout_seconds),
        kube=Kube(objects, core, ApiException, request_timeout=settings.api_timeout_seconds),
        policy=policy or policy_from_settings(settings),
        settings=settings,
        metrics=metrics,
    )
    # Discovery of our own group: needs a valid token, and proves the CRD is served.
    probe = partial(objects.get_api_resources, api.GROUP, api.VERSION, _request_timeout=settings.api_timeout_seconds)
    return Runtime(settings=settings, worker=worker, metrics=metrics, probe=probe)


def _runtime(memo: Any) -> Runtime:
    runtime: Runtime = memo.runtime
    return runtime


@kopf.on.login(registry=registry)
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """The in-cluster service account, else the kubeconfig (kopf's default, which a
    registry of our own does not inherit)."""
    return kopf.login_via_client(**kwargs)


@kopf.on.startup(registry=registry)
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.scanning.disabled = True  # namespaces are listed explicitly
    settings.posting.level = logging.WARNING  # kopf's own Events only for problems
    settings.watching.server_timeout = 300  # re-list now and then, as informers do
    runtime = _runtime(memo)
    runtime.tasks = [asyncio.create_task(runtime.serve_http(), name="http")]
    runtime.tasks += [asyncio.create_task(runtime.work(), name=f"worker-{i}") for i in range(runtime.settings.workers)]
    runtime.tasks.append(asyncio.create_task(runtime.resync(), name="resync"))
    runtime.ready = True


@kopf.on.cleanup(registry=registry)
async def stop(memo: kopf.Memo, **_: Any) -> None:
    runtime = _runtime(memo)
    runtime.ready = False
    runtime.queue.close()
    if runtime.probing is not None:
        runtime.tasks.append(runtime.probing)
    for task in runtime.tasks:
        task.cancel()
    for task in runtime.tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def _remember(store: Store, event: kopf.RawEvent) -> dict[str, Any]:
    """Keep the watch cache current with one event; the object it was about."""
    obj = dict(event["object"])
    if event.get("type") == "DELETED":
        store.delete(key_of(obj))
    else:
        store.put(obj)
    return obj


@kopf.on.event(api.GROUP, api.VERSION, api.PLURAL, registry=registry)
async def workload_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    runtime = _runtime(memo)
    runtime.queue.add(key_of(_remember(runtime.worker.workloads, event)))


@kopf.on.event(
    argo_names.GROUP,
    argo_names.VERSION,
    argo_names.WORKFLOWS,
    labels={argo_names.LABEL_MANAGED_BY: argo_names.MANAGER},
    registry=registry,
)
async def workflow_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    runtime = _runtime(memo)
    if (owner := owner_key(_remember(runtime.worker.workflows, event))) is not None:
        runtime.queue.add(owner)


async def run(runtime: Runtime) -> None:
    """Run kopf with our handlers over the configured namespaces until a signal stops it."""
    await kopf.operator(
        registry=registry,
        namespaces=list(runtime.settings.namespaces),
        clusterwide=False,
        standalone=True,
        memo=kopf.Memo(runtime=runtime),
    )
