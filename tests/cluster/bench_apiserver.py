"""The scale figures on the real kube-apiserver of the cluster tier (not a test: a benchmark).

The same script as bench.scale (drain, burst at ``--rate``, steady changes, idle,
memory), against kwokctl's etcd and kube-apiserver with RBAC and admission on, our
operator beside a bare kopf operator (bench/bare_kopf.py), each in a namespace of its
own, one after the other. Argo's writes are merge patches of Workflow status sent by this
process through the operator's async client (the real controller is not running: it
would move the Workflows on its own), at most ``--in-flight`` at a time (Argo's controller
has 32 workflow workers by default). A lag runs on the API server's clock, read from its
audit log (``AUDIT_WRITES``: when each write was received and when its response was
complete; its commit is between): from Argo's write to the operator's first status write
for that workload received after it (``answer_lags``).

Also the writes of one lifecycle per workload, Argo's steps one by one (the operator's
own request counter, ``agentic_api_requests``, read before and after).

    python -m tests.cluster.bench_apiserver [--workloads 500] [--lifecycles 50]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from agentic_contract import pipeline
from agentic_operator import api, argo_names
from agentic_operator.cache import Store
from agentic_operator.informer import Informer
from agentic_operator.kubeclient import Client, kubeconfig, path
from agentic_operator.timestamps import now_text
from bench.bare_kopf import answered as bare_answered
from bench.harness import Operator, Spread, bare_kopf, ours, real_opa
from testkit import argo_sim
from testkit.factories import SETTINGS, workload
from testkit.operator_process import ROOT
from tests.cluster.argo import established, install_crds
from tests.cluster.controlplane import KUBE_VERSION, ControlPlane, wait_for

RESYNC = 30.0
AW_PATH = (api.GROUP, api.VERSION, api.PLURAL)
WF_PATH = (argo_names.GROUP, argo_names.VERSION, argo_names.WORKFLOWS)
TEMPLATES_PATH = (argo_names.GROUP, argo_names.VERSION, argo_names.WORKFLOW_TEMPLATES)
WRITER = "bench/1"  # the User-Agent of this process's writes (Argo's, and the workloads')
# What the API server records: every write to the AgentWorkloads and Workflows, who sent it
# (its User-Agent) and when its response was complete. Ref:
# https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/
AUDIT_WRITES = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived", "ResponseStarted"],
    "rules": [
        {
            "level": "Metadata",
            "verbs": ["create", "patch", "update"],
            "resources": [
                {"group": api.GROUP, "resources": [api.PLURAL, f"{api.PLURAL}/status"]},
                {"group": argo_names.GROUP, "resources": [argo_names.WORKFLOWS]},
            ],
        },
        {"level": "None"},
    ],
}


class AuditLog:
    """The API server's audit log, read as it grows: each line parsed once, so following it
    through a run costs this process (which shares the cores with the operator) little."""

    def __init__(self, log: Path) -> None:
        self.log, self.offset, self.events = log, 0, list[dict[str, Any]]()

    def read(self) -> list[dict[str, Any]]:
        if self.log.exists():
            with self.log.open("rb") as f:
                f.seek(self.offset)
                chunk = f.read()
            whole = chunk[: chunk.rfind(b"\n") + 1]  # a line being written waits for the next read
            self.offset += len(whole)
            self.events.extend(json.loads(line) for line in whole.splitlines() if line.strip())
        return self.events


@dataclass(frozen=True)
class Write:
    """One write as the API server recorded it; its commit lies between the two times."""

    name: str
    received: float  # seconds since the epoch, the API server's clock
    done: float  # its response complete


def writes(audit: list[dict[str, Any]], namespace: str, resource: str, by_writer: bool, since: float) -> list[Write]:
    """The successful writes to ``resource`` in ``namespace`` received from ``since`` on, by
    this process (``by_writer``: Argo's, here) or by anyone else (the operator)."""
    found = []
    for event in audit:
        ref, code = event.get("objectRef") or {}, (event.get("responseStatus") or {}).get("code", 0)
        if ref.get("namespace") != namespace or ref.get("resource") != resource or not 200 <= code < 300:
            continue
        if (event.get("userAgent") == WRITER) != by_writer:
            continue
        received = datetime.fromisoformat(event["requestReceivedTimestamp"]).timestamp()
        if received >= since:
            found.append(Write(ref["name"], received, datetime.fromisoformat(event["stageTimestamp"]).timestamp()))
    return found


def watch_delays(triggers: list[Write], seen: Mapping[str, list[float]]) -> list[float]:
    """From each trigger's response to this process's watch delivering its object changed
    (the first arrival after the trigger was received; 0 where it came first): how late a
    watch of the API server tells of a write, whoever watches."""
    delays = []
    for trigger in triggers:
        times = seen.get(trigger.name, [])
        i = bisect.bisect_left(times, trigger.received)
        if i < len(times):
            delays.append(max(0.0, times[i] - trigger.done))
    return delays


def answer_lags(triggers: list[Write], answers: list[Write]) -> tuple[list[tuple[float, float, float]], int]:
    """For each trigger, the first answer for its object received after it (an answer follows
    the trigger's commit, which follows its receipt): (when the trigger was done, the lag
    from its response to the answer's, 0 where the answer's was complete first, as when
    the trigger's response still waits for its busy client; the part of the lag the API
    server spent on the answer, from its receipt). And how many had none."""
    by_name: dict[str, list[Write]] = defaultdict(list)
    for answer in sorted(answers, key=lambda w: w.received):
        by_name[answer.name].append(answer)
    found = []
    for trigger in triggers:
        later = by_name.get(trigger.name, [])
        i = bisect.bisect_left([a.received for a in later], trigger.received)
        if i < len(later):
            answer = later[i]
            found.append((trigger.done, max(0.0, answer.done - trigger.done), answer.done - answer.received))
    return found, len(triggers) - len(found)


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
            # wall time: the API server's clock (the same machine's), which the audit log keeps
            self.arrivals[kind][obj["metadata"]["name"]].append(time.time())

        return seen


@contextlib.asynccontextmanager
async def watched_namespace(cluster: ControlPlane, prefix: str) -> AsyncIterator[tuple[str, Client, Watcher]]:
    """A new namespace with the WorkflowTemplate, a client, and a Watcher of it, listed."""
    namespace = f"{prefix}-{int(time.time()) % 100000}"
    cluster.kube().namespace(namespace)
    client = Client(kubeconfig(cluster.kubeconfig), user_agent=WRITER, timeout=30, connections=32)
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

    await until(lambda: time.time() - last() >= seconds, timeout)


async def paced_writes(count: int, rate: float, in_flight: int, write: Callable[[int], Any]) -> float:
    """``count`` writes at ``rate`` a second at most, ``in_flight`` of them at a time at most."""
    start, slots = time.monotonic(), asyncio.Semaphore(in_flight)

    async def one(i: int) -> None:
        try:
            await write(i)
        finally:
            slots.release()

    tasks = []
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await slots.acquire()
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return time.monotonic() - start


async def measure(
    cluster: ControlPlane, kind: str, n: int, workdir: Path, opa_url: str, args: argparse.Namespace
) -> dict[str, Any]:
    async with watched_namespace(cluster, f"scale-{kind}") as (namespace, client, watcher):
        return await _measure(cluster, namespace, client, watcher, kind, n, workdir, opa_url, args)


async def _measure(
    cluster: ControlPlane,
    namespace: str,
    client: Client,
    watcher: Watcher,
    kind: str,
    n: int,
    workdir: Path,
    opa_url: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    config = cluster.kubeconfig
    names = [f"job-{i:05d}" for i in range(n)]
    result: dict[str, Any] = {"operator": kind, "workloads": n, "server": f"kube-apiserver {KUBE_VERSION}"}
    operator: Operator = (
        ours(config, workdir, namespace, opa_url, resync_seconds=RESYNC, workers=args.workers)
        if kind == "ours"
        else bare_kopf(config, workdir, namespace, tuned=kind == "bare-tuned")
    )
    operator.profile = (args.profile / f"{kind}-{n}-{time.strftime('%H%M%S')}.txt") if args.profile else None
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

        start = time.time()
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

        async def argo(i: int, planned: dict[str, dict[str, Any]]) -> None:
            if names[i] in planned:
                await client.patch(path(*WF_PATH, namespace, names[i]), {"status": planned[names[i]]})

        audit_log = AuditLog(cluster.audit_log)

        def phase(since: float) -> tuple[list[Write], list[tuple[float, float, float]], int]:
            """This process's Workflow writes since ``since``, the operator's answers to them
            (``answer_lags``) and how many are unanswered, as the audit log has them now."""
            audit = audit_log.read()
            triggers = writes(audit, namespace, argo_names.WORKFLOWS, True, since)
            return triggers, *answer_lags(triggers, writes(audit, namespace, api.PLURAL, False, since))

        def summary(triggers: list[Write], found: list[tuple[float, float, float]], missing: int) -> dict[str, Any]:
            since = min((t.received for t in triggers), default=0.0)
            worst = sorted(found, key=lambda f: -f[1])[:5]  # (s into the phase, ms, of which the server's)
            return {
                **Spread([lag for _, lag, _ in found]).summary(),
                "unanswered": missing,
                "server_part": Spread([part for _, _, part in found]).summary(),
                "watch_delay": Spread(watch_delays(triggers, watcher.arrivals["wf"])).summary(),
                "worst": [(round(at - since, 1), round(lag * 1000), round(part * 1000)) for at, lag, part in worst],
            }

        started_all = plan(n, argo_sim.advance)
        since, cpu = time.time(), operator.cpu_seconds()
        last_answer = {"answers": 0, "cpu": cpu}  # the operator's CPU when the answers last grew

        def all_answered() -> bool:
            _, found, missing = phase(since)
            if len(found) > last_answer["answers"]:
                last_answer.update(answers=len(found), cpu=operator.cpu_seconds())
            return missing == 0

        took = await paced_writes(n, args.rate, args.in_flight, lambda i: argo(i, started_all))
        result["burst_rate_per_s"] = round(n / took)
        await until(all_answered, 300)
        await quiet(watcher)
        reactions = sum(1 for times in watcher.arrivals["aw"].values() for t in times if t >= since)
        result["burst"] = summary(*phase(since))
        # up to the last answer: a wait for a missing one would add the idle operator's CPU
        result["cpu_ms_per_reaction"] = round((last_answer["cpu"] - cpu) / max(1, reactions) * 1000, 2)
        result["peak_rss_mib"], result["rss_mib"] = operator.peak_rss_mib(), operator.rss_mib()

        def finished(wf: dict[str, Any]) -> dict[str, Any]:
            return {**wf, "status": {**(wf.get("status") or {}), "phase": "Succeeded", "finishedAt": now_text()}}

        steady_n = min(n, int(args.steady_seconds * args.steady_rate))  # each Workflow finishes once
        finishing = plan(steady_n, finished)
        steady_since = time.time()
        await paced_writes(steady_n, args.steady_rate, args.in_flight, lambda i: argo(i, finishing))
        await until(lambda: phase(steady_since)[2] == 0, 60)
        await quiet(watcher)
        result["steady"] = summary(*phase(steady_since))
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


async def lifecycles(cluster: ControlPlane, n: int, workdir: Path, opa_url: str, window: float) -> dict[str, Any]:
    """Writes per auto-approved lifecycle with Argo's steps one by one, each seen by the
    operator, its progress held for ``window`` seconds."""
    async with watched_namespace(cluster, "lifecycle") as (namespace, client, watcher):
        operator = ours(
            cluster.kubeconfig, workdir, namespace, opa_url, resync_seconds=RESYNC, status_coalesce_seconds=window
        )
        return await _lifecycles(namespace, client, watcher, n, operator)


async def _lifecycles(namespace: str, client: Client, watcher: Watcher, n: int, operator: Operator) -> dict[str, Any]:
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
        before, started = _requests(port), time.monotonic()
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
        took = time.monotonic() - started
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
        "seconds": round(took, 1),
        "requests_per_workload": sent,
        "writes_per_workload": writes,
        "events_per_workload": events / n,
    }


async def main_async(args: argparse.Namespace, cluster: ControlPlane, workdir: Path) -> list[dict[str, Any]]:
    results = []
    with real_opa(args.policies, workdir) as opa_url:
        if args.lifecycles:
            results.append(await lifecycles(cluster, args.lifecycles, workdir, opa_url, args.coalesce_seconds))
            print(json.dumps(results[-1]), flush=True)
        for _ in range(args.repeat):
            for kind in args.only or ["ours", "bare"]:
                results.append(await measure(cluster, kind, args.workloads, workdir, opa_url, args))
                print(json.dumps(results[-1]), flush=True)
    return results


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", type=int, default=500)
    parser.add_argument("--lifecycles", type=int, default=50)
    parser.add_argument("--coalesce-seconds", type=float, default=10.0, help="the operator's progress window")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=SETTINGS.workers, help="the operator's concurrent reconciles")
    parser.add_argument("--only", choices=("ours", "bare", "bare-tuned"), action="append")
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--in-flight", type=int, default=32, help="Argo's writes awaiting an answer at most")
    parser.add_argument("--steady-rate", type=float, default=10.0)
    parser.add_argument("--steady-seconds", type=float, default=20.0)
    parser.add_argument("--policies", type=Path, default=ROOT / "bench" / "policies-allow")
    parser.add_argument("--profile", type=Path, help="a folder for py-spy samples of each operator process")
    return parser


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """A control plane of its own (its audit log records the writes), the runs ``args`` ask for."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        ControlPlane(Path(tmp) / "control-plane", audit_policy=AUDIT_WRITES) as cluster,
    ):
        install_crds(cluster)
        cluster.kube().create(api.crd())
        wait_for(lambda: established(cluster.kube(), f"{api.PLURAL}.{api.GROUP}"), timeout=60, what="the CRD")
        return asyncio.run(main_async(args, cluster, Path(tmp)))


if __name__ == "__main__":
    run(parser().parse_args())
