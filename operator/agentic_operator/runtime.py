"""The operator's process: informers feed the caches and a work queue; workers reconcile keys.

- an informer per watched namespace keeps the AgentWorkload cache current and queues the
  key of each change (deletions found by a re-list included);
- another keeps the cache of our Workflows (labelled
  ``app.kubernetes.io/managed-by=agentic-operator``, compacted) and queues each owner;
- ``workers`` coroutines take keys and run :class:`agentic_operator.worker.Worker`,
  requeueing as the outcome says (backoff, deadlines, held status writes);
- the resync queues every key once per ``resync_seconds``, spread evenly over the
  interval in a shuffled order and behind every real event (the queue's background
  lane), so it is a safety net that neither spikes nor delays anything;
- the caches are long-lived: once listed, and after every resync pass, the heap is moved
  out of the garbage collector's sight (:func:`freeze_heap`), or each full collection
  would scan them all (190 ms at 2,000 workloads, 370 ms at 20,000: a lag spike); the
  pauses are a metric (``agentic_gc_pause_seconds``).

Nothing is stored on the watched objects (no annotations, no finalizers), so deleting an
AgentWorkload never waits for the operator. One replica runs, with the Deployment's
Recreate strategy, so two operators never act at once (sharding: docs/ARCHITECTURE.md).
/readyz is ready once every informer has listed and while their last request succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from agentic_operator import __version__, api, argo_names
from agentic_operator.cache import Key, Store, compact_workflow, compact_workload, key_of
from agentic_operator.decision import Policy
from agentic_operator.informer import Informer
from agentic_operator.kube import Kube
from agentic_operator.kubeclient import Client, load_config, path
from agentic_operator.metrics import CONTENT_TYPE, Metrics
from agentic_operator.settings import Settings
from agentic_operator.worker import Worker, owner_key
from agentic_operator.workflows import WorkflowManager
from agentic_operator.workqueue import WorkQueue

log = logging.getLogger(__name__)
USER_AGENT = f"agentic-operator/{__version__}"  # names us in audit logs
MANAGED = f"{argo_names.LABEL_MANAGED_BY}={argo_names.MANAGER}"
PROBE_SECONDS = 2.0  # /readyz asks the API server again when its last answer is older
RESYNC_TICK = 0.05  # seconds between two slices of a resync pass


def freeze_heap() -> None:
    """Collect what is garbage now, then freeze the rest (``gc.freeze``).

    Frozen objects are never scanned again, so a full collection costs only the objects
    made since the last freeze (20 ms after 2,000 workloads changed, against 370 ms for
    a 20,000-workload heap). The cached objects are acyclic and freed by reference
    counting when replaced; only a cycle frozen while alive and dropped later would stay
    (none is known): the price of pauses that do not grow with the cache.
    Ref: https://docs.python.org/3/library/gc.html#gc.freeze
    """
    gc.collect()
    gc.freeze()


def time_collections(metrics: Metrics) -> None:
    """Every garbage collection's pause into ``agentic_gc_pause_seconds`` (by generation):
    the pauses are the events' lag, so they are watched."""
    started = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            metrics.gc_pause.labels(str(info["generation"])).observe(time.perf_counter() - started[0])

    gc.callbacks.append(callback)


# Argo's Workflows are 40-50 KB of JSON each (status.storedTemplates and
# storedWorkflowTemplateSpec hold the whole template; nodes grow with each step), and a
# list page is parsed whole before it is compacted. At a
# restart over 2,000 (BENCHMARKS.md) the process peaked at 307 MiB with pages of 500
# (client-go's default) against 97 MiB steady, 121 MiB with 100, 87 MiB with 25 (80 list
# requests, once per start).
WORKFLOW_PAGE = 25


@dataclass
class Runtime:
    """Everything the operator's tasks share."""

    settings: Settings
    worker: Worker
    metrics: Metrics
    client: Client
    policy: Policy
    queue: WorkQueue[Key] = field(default_factory=WorkQueue)
    informers: list[Informer] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    api_answers: bool = False  # the last probe's result
    probed_at: float = float("-inf")
    probing: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        if not self.informers:
            self.informers = [inf for ns in self.settings.namespaces for inf in self._informers(ns)]

    def _informers(self, namespace: str) -> tuple[Informer, Informer]:
        workloads = Informer(
            self.client,
            path(api.GROUP, api.VERSION, api.PLURAL, namespace),
            self.worker.workloads,
            self.workload_changed,
            namespace=namespace,
            transform=compact_workload,
        )
        workflows = Informer(
            self.client,
            path(argo_names.GROUP, argo_names.VERSION, argo_names.WORKFLOWS, namespace),
            self.worker.workflows,
            self.workflow_changed,
            namespace=namespace,
            label_selector=MANAGED,
            transform=compact_workflow,
            page_size=WORKFLOW_PAGE,
        )
        return workloads, workflows

    def workload_changed(self, _: str, obj: Mapping[str, Any]) -> None:
        self.queue.add(key_of(obj))

    def workflow_changed(self, _: str, obj: Mapping[str, Any]) -> None:
        if (owner := owner_key(obj)) is not None:
            self.queue.add(owner)

    @property
    def ready(self) -> bool:
        return bool(self.tasks) and all(i.synced.is_set() and i.healthy for i in self.informers)

    async def work(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                outcome = await self.worker.reconcile(key)
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

    async def resync(self, rng: random.Random | None = None) -> None:
        """Every key once per interval, a slice every ``RESYNC_TICK`` seconds, in the
        background lane; the heap frozen once every informer has listed, and after every pass.

        Fine slices matter: a reconcile of an unchanged world makes no request, so the
        keys of one slice run back to back on the event loop, and an event arriving then
        waits for the slice (at 1 s slices, 67 keys: ~10 ms; at 50 ms, 3 keys)."""
        rng = rng or random.Random()
        interval = self.settings.resync_seconds
        ticks = max(1, round(interval / RESYNC_TICK))
        await asyncio.gather(*(i.synced.wait() for i in self.informers))
        freeze_heap()
        await asyncio.sleep(rng.uniform(0, interval / ticks))
        while True:
            keys = [key_of(w) for w in self.worker.workloads]
            rng.shuffle(keys)
            for tick in range(ticks):
                for key in keys[tick::ticks]:
                    self.queue.add(key, background=True)
                await asyncio.sleep(interval / ticks)
            freeze_heap()

    async def probe_api(self) -> None:
        """Ask the API server once (discovery of our own group: it needs a valid token and
        proves the CRD is served); /readyz reports the answer from then on."""
        try:
            await self.client.get(f"/apis/{api.GROUP}/{api.VERSION}")
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
        """/healthz (alive), /readyz (listed, watching, and the API server answered), /metrics (Prometheus)."""

        async def healthz(_: web.Request) -> web.Response:
            alive = bool(self.tasks) and not any(t.done() for t in self.tasks)
            return web.Response(status=200 if alive else 503, text="ok" if alive else "tasks stopped")

        async def readyz(_: web.Request) -> web.Response:
            if not self.ready:
                return web.Response(status=503, text="not ready")
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

    async def run(self) -> None:
        """Run every task until SIGTERM or SIGINT, then stop them all."""
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        self.tasks = [asyncio.create_task(self.serve_http(), name="http")]
        self.tasks += [asyncio.create_task(i.run(), name=f"informer {i.collection}") for i in self.informers]
        self.tasks += [asyncio.create_task(self.work(), name=f"worker-{n}") for n in range(self.settings.workers)]
        self.tasks.append(asyncio.create_task(self.resync(), name="resync"))
        log.info("watching %s", ", ".join(i.collection for i in self.informers))
        try:
            await stopping.wait()
        finally:
            log.info("stopping")
            self.queue.close()
            for task in self.tasks:
                task.cancel()
            for task in self.tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(TimeoutError):  # the last Events, briefly
                async with asyncio.timeout(2):
                    await self.worker.settle()
            await self.client.close()
            await self.policy.close()


def build(settings: Settings, policy: Policy | None = None) -> Runtime:
    """Wire the runtime from settings: the API client from the credentials, the policy engine."""
    from agentic_operator.policy import policy_from_settings

    workloads, workflows = Store(), Store()
    metrics = Metrics(lambda: list(workloads))
    client = Client(
        load_config(), user_agent=USER_AGENT, timeout=settings.api_timeout_seconds, on_response=metrics.api_response
    )
    policy = policy or policy_from_settings(settings)
    worker = Worker(
        workloads=workloads,
        workflows=workflows,
        manager=WorkflowManager(client),
        kube=Kube(client),
        policy=policy,
        settings=settings,
        metrics=metrics,
        coalesce_seconds=settings.status_coalesce_seconds,
    )
    time_collections(metrics)
    return Runtime(settings=settings, worker=worker, metrics=metrics, client=client, policy=policy)
