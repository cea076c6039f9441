"""The scale figures on the real kube-apiserver of the cluster tier (not a test: a benchmark).

The same script as bench.scale (drain, burst at ``--rate``, steady changes, idle,
memory), against kwokctl's etcd and kube-apiserver with RBAC and admission on, our
operator beside a bare kopf operator (bench/bare_kopf.py), each in a namespace of its
own, one after the other. Argo's writes are merge patches of Workflow status sent by this
process through the operator's async client (the real controller is not running: it
would move the Workflows on its own). The API server keeps no commit log, so a lag is
timed from the moment the API server answered Argo's write (its commit is before that)
to the moment a watch of this process delivered the operator's answer (its commit is
before that too); both ends carry a delivery delay of the same kind.

Also the writes of one lifecycle per workload, Argo's steps one by one (the operator's
own request counter, ``agentic_api_requests``, read before and after).

    python -m tests.cluster.bench_apiserver [--workloads 500] [--lifecycles 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from agentic_contract import pipeline
from agentic_operator import api, argo_names
from agentic_operator.cache import Store
from agentic_operator.informer import Informer
from agentic_operator.kubeclient import Client, kubeconfig, path
from agentic_operator.timestamps import now_text
from bench.bare_kopf import answered as bare_answered
from bench.harness import Operator, Spread, bare_kopf, lags, ours, real_opa
from testkit import argo_sim
from testkit.factories import workload
from testkit.operator_process import ROOT
from tests.cluster.argo import established, install_crds
from tests.cluster.controlplane import KUBE_VERSION, ControlPlane, wait_for

RESYNC = 30.0
AW_PATH = (api.GROUP, api.VERSION, api.PLURAL)
WF_PATH = (argo_names.GROUP, argo_names.VERSION, argo_names.WORKFLOWS)
TEMPLATES_PATH = (argo_names.GROUP, argo_names.VERSION, argo_names.WORKFLOW_TEMPLATES)


class Watcher:
    """Arrival times of AgentWorkload and Workflow changes in a namespace, and their copies."""

    def __init__(self, client: Client, namespace: str) -> None:
        self.arrivals: dict[str, dict[str, list[float]]] = {"aw": defaultdict(list), "wf": defaultdict(list)}
        self.workloads, self.workflows = Store(), Store()
        self.informers = [
            Informer(client, path(*AW_PATH, namespace), self.workloads, self._seen("aw"), namespace=namespace),
            Informer(client, path(*WF_PATH, namespace), self.workflows, self._seen("wf"), namespace=namespace),
        ]

    def _seen(self, kind: str) -> Callable[[str, Mapping[str, Any]], None]:
        def seen(change: str, obj: Mapping[str, Any]) -> None:
            self.arrivals[kind][obj["metadata"]["name"]].append(time.monotonic())

        return seen


@contextlib.asynccontextmanager
async def watched_namespace(cluster: ControlPlane, prefix: str) -> AsyncIterator[tuple[str, Client, Watcher]]:
    """A new namespace with the WorkflowTemplate, a client, and a Watcher of it, listed."""
    namespace = f"{prefix}-{int(time.time()) % 100000}"
    cluster.kube().namespace(namespace)
    client = Client(kubeconfig(cluster.kubeconfig), user_agent="bench/1", timeout=30, connections=32)
    template = {
        "apiVersion": argo_names.API_VERSION,
        "kind": "WorkflowTemplate",
        "metadata": {"name": api.DEFAULT_TEMPLATE},
    }
    spec = {"entrypoint": "main", "templates": [{"name": "main", "suspend": {}}]}
    watcher = Watcher(client, namespace)
    tasks = [asyncio.create_task(i.run()) for i in watcher.informers]
    try:
        await client.create(path(*TEMPLATES_PATH, namespace), {**template, "spec": spec})
        for informer in watcher.informers:
            await asyncio.wait_for(informer.synced.wait(), 60)
        yield namespace, client, watcher
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.close()


async def until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def quiet(watcher: Watcher, seconds: float = 2.0, timeout: float = 300) -> None:
    def last() -> float:
        return max((t[-1] for t in watcher.arrivals["aw"].values() if t), default=0.0)

    await until(lambda: time.monotonic() - last() >= seconds, timeout)


async def paced_writes(count: int, rate: float, write: Callable[[int], Any]) -> float:
    start = time.monotonic()
    tasks = []
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(write(i)))
    await asyncio.gather(*tasks)
    return time.monotonic() - start


async def measure(
    cluster: ControlPlane, kind: str, n: int, workdir: Path, opa_url: str, args: argparse.Namespace
) -> dict[str, Any]:
    async with watched_namespace(cluster, f"scale-{kind}") as (namespace, client, watcher):
        return await _measure(namespace, client, watcher, kind, n, workdir, opa_url, args, cluster.kubeconfig)


async def _measure(
    namespace: str,
    client: Client,
    watcher: Watcher,
    kind: str,
    n: int,
    workdir: Path,
    opa_url: str,
    args: argparse.Namespace,
    config: Path,
) -> dict[str, Any]:
    names = [f"job-{i:05d}" for i in range(n)]
    result: dict[str, Any] = {"operator": kind, "workloads": n, "server": f"kube-apiserver {KUBE_VERSION}"}
    operator: Operator = (
        ours(config, workdir, namespace, opa_url, resync_seconds=RESYNC)
        if kind == "ours"
        else bare_kopf(config, workdir, namespace, tuned=kind == "bare-tuned")
    )
    answered: Callable[[dict[str, Any]], bool] = (
        (lambda w: (w.get("status") or {}).get("phase") == "Pending") if kind == "ours" else bare_answered
    )
    try:
        await asyncio.to_thread(operator.start)
        await asyncio.sleep(3)  # its lists done (there is nothing to list yet)
        limit = asyncio.Semaphore(16)

        async def create(i: int) -> None:
            body = workload(name=names[i], namespace=namespace)
            for key in ("uid", "resourceVersion", "generation"):
                body["metadata"].pop(key)
            async with limit:
                await client.create(path(*AW_PATH, namespace), body)

        start = time.monotonic()
        await asyncio.gather(*(create(i) for i in range(n)))
        result["drain_complete"] = await until(lambda: sum(map(answered, watcher.workloads)) == n, 900)
        result["drain_s"] = round(max(t[-1] for t in watcher.arrivals["aw"].values()) - start, 2)
        if kind != "ours":  # the Workflows bare kopf has no code to create

            async def workflow(i: int) -> None:
                owner = watcher.workloads.get((namespace, names[i]))
                assert owner is not None
                ref = {
                    "apiVersion": api.API_VERSION,
                    "kind": api.KIND,
                    "name": names[i],
                    "uid": owner["metadata"]["uid"],
                }
                meta = {
                    "name": names[i],
                    "labels": {argo_names.LABEL_MANAGED_BY: argo_names.MANAGER},
                    "ownerReferences": [ref],
                }
                async with limit:
                    await client.create(
                        path(*WF_PATH, namespace),
                        {
                            "apiVersion": argo_names.API_VERSION,
                            "kind": "Workflow",
                            "metadata": meta,
                            "spec": {
                                "workflowTemplateRef": {"name": api.DEFAULT_TEMPLATE},
                                "arguments": {"parameters": [{"name": pipeline.PARAM_JOB_ID, "value": names[i]}]},
                            },
                        },
                    )

            await asyncio.gather(*(workflow(i) for i in range(n)))
        await quiet(watcher)

        def plan(count: int, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> dict[str, dict[str, Any]]:
            """Argo's next status for each Workflow, worked out before any is sent: Argo's
            controller works in its own process, and replaying its recorded shapes
            (milliseconds each) in this writer's loop would cap the rate."""
            new = {name: change(dict(watcher.workflows.get((namespace, name)) or {})) for name in names[:count]}
            return {name: wf["status"] for name, wf in new.items() if wf is not None}

        async def argo(i: int, planned: dict[str, dict[str, Any]], into: list[tuple[float, str]]) -> None:
            if names[i] in planned:
                await client.patch(path(*WF_PATH, namespace, names[i]), {"status": planned[names[i]]})
                into.append((time.monotonic(), names[i]))

        triggers: list[tuple[float, str]] = []
        started_all = plan(n, argo_sim.advance)
        since, cpu = time.monotonic(), operator.cpu_seconds()
        took = await paced_writes(n, args.rate, lambda i: argo(i, started_all, triggers))
        result["burst_rate_per_s"] = round(n / took)
        await until(lambda: len(lags(triggers, watcher.arrivals["aw"])) == len(triggers), 300)
        await quiet(watcher)
        burst = lags(triggers, watcher.arrivals["aw"])
        reactions = sum(1 for times in watcher.arrivals["aw"].values() for t in times if t >= since)
        result["burst"] = {**Spread(burst).summary(), "unanswered": len(triggers) - len(burst)}
        result["cpu_ms_per_reaction"] = round((operator.cpu_seconds() - cpu) / max(1, reactions) * 1000, 2)
        result["peak_rss_mib"], result["rss_mib"] = operator.peak_rss_mib(), operator.rss_mib()

        def finished(wf: dict[str, Any]) -> dict[str, Any]:
            return {**wf, "status": {**(wf.get("status") or {}), "phase": "Succeeded", "finishedAt": now_text()}}

        changes: list[tuple[float, str]] = []
        steady_n = int(args.steady_seconds * args.steady_rate)
        finishing = plan(steady_n, finished)
        await paced_writes(steady_n, args.steady_rate, lambda i: argo(i, finishing, changes))
        await quiet(watcher)
        steady = lags(changes, watcher.arrivals["aw"])
        result["steady"] = {**Spread(steady).summary(), "unanswered": len(changes) - len(steady)}
    finally:
        await asyncio.to_thread(operator.stop)
    return result


def _requests(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    counts: dict[str, float] = defaultdict(float)
    for line in text.splitlines():
        if line.startswith("agentic_api_requests_total{"):
            labels, value = line.rsplit(" ", 1)
            method = labels.split('method="')[1].split('"')[0]
            counts[method] += float(value)
    return dict(counts)


async def lifecycles(cluster: ControlPlane, n: int, workdir: Path, opa_url: str) -> dict[str, Any]:
    """Writes per auto-approved lifecycle with Argo's steps one by one, each seen by the operator."""
    async with watched_namespace(cluster, "lifecycle") as (namespace, client, watcher):
        return await _lifecycles(namespace, client, watcher, n, workdir, opa_url, cluster.kubeconfig)


async def _lifecycles(
    namespace: str, client: Client, watcher: Watcher, n: int, workdir: Path, opa_url: str, config: Path
) -> dict[str, Any]:
    operator = ours(config, workdir, namespace, opa_url, resync_seconds=RESYNC)
    port = int(operator.env["AGENTIC_HTTP_PORT"])
    names = [f"life-{i:03d}" for i in range(n)]

    def movable(name: str) -> dict[str, Any] | None:
        return argo_sim.advance(dict(watcher.workflows.get((namespace, name)) or {}))

    def finished(name: str) -> bool:
        return bool((watcher.workflows.get((namespace, name)) or {}).get("status", {}).get("phase") == "Succeeded")

    def version(name: str) -> str:
        return str((watcher.workflows.get((namespace, name)) or {}).get("metadata", {}).get("resourceVersion"))

    async def steps(name: str) -> None:
        while (new := movable(name)) is not None:
            seen = version(name)
            await client.patch(path(*WF_PATH, namespace, name), {"status": new["status"]})
            await until(lambda: version(name) != seen, 10)  # noqa: B023 (awaited here, in this pass)
            await asyncio.sleep(0.1)  # the operator's watch has it too by now

    try:
        await asyncio.to_thread(operator.start)
        before = _requests(port)
        for name in names:
            body = workload(name=name, namespace=namespace)
            for key in ("uid", "resourceVersion", "generation"):
                body["metadata"].pop(key)
            await client.create(path(*AW_PATH, namespace), body)
        await until(lambda: len(watcher.workflows) == n, 120)
        await quiet(watcher, 1)
        for name in names:  # to the gate, Argo's steps one by one, each seen before the next
            await steps(name)
        for name in names:  # resumed by the operator (if not already, and run on): synthesis, done
            await until(lambda name=name: movable(name) is not None or finished(name), 60)  # type: ignore[misc]
            await steps(name)
        done = await until(
            lambda: sum((w.get("status") or {}).get("phase") == "Succeeded" for w in watcher.workloads) == n, 120
        )
        await asyncio.sleep(1)
        after = _requests(port)
        events = 0
        for name in names:
            listed = await client.get(
                path("", "v1", "events", namespace), query={"fieldSelector": f"involvedObject.name={name}"}
            )
            events += len(listed["items"])
    finally:
        await asyncio.to_thread(operator.stop)
    sent = {m: (after.get(m, 0) - before.get(m, 0)) / n for m in after}
    writes = sum(v for m, v in sent.items() if m in ("POST", "PUT", "PATCH", "DELETE"))
    return {
        "lifecycles": n,
        "all_succeeded": done,
        "requests_per_workload": sent,
        "writes_per_workload": writes,
        "events_per_workload": events / n,
    }


async def main_async(args: argparse.Namespace, cluster: ControlPlane, workdir: Path) -> None:
    with real_opa(args.policies, workdir) as opa_url:
        if args.lifecycles:
            print(json.dumps(await lifecycles(cluster, args.lifecycles, workdir, opa_url)), flush=True)
        for _ in range(args.repeat):
            for kind in args.only or ["ours", "bare"]:
                print(json.dumps(await measure(cluster, kind, args.workloads, workdir, opa_url, args)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", type=int, default=500)
    parser.add_argument("--lifecycles", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", choices=("ours", "bare", "bare-tuned"), action="append")
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--steady-rate", type=float, default=10.0)
    parser.add_argument("--steady-seconds", type=float, default=20.0)
    parser.add_argument("--policies", type=Path, default=ROOT / "bench" / "policies-allow")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ControlPlane(Path(tmp) / "control-plane") as cluster:
        install_crds(cluster)
        cluster.kube().create(api.crd())
        wait_for(lambda: established(cluster.kube(), f"{api.PLURAL}.{api.GROUP}"), timeout=60, what="the CRD")
        asyncio.run(main_async(args, cluster, Path(tmp)))


if __name__ == "__main__":
    main()
