"""The operator at scale, side by side with a bare kopf operator, on the emulated API server.

Each operator gets a fresh emulator (testkit/apiserver) holding N AgentWorkloads and the
same script, one after the other in one run, repeated ``--repeat`` times (ABAB...):

1. **drain**: N new AgentWorkloads committed at once; seconds from the first commit to
   the last answer (ours: the status write that records the created Workflow, after a
   real OPA in its own process admitted it; bare kopf: its status patch);
2. **burst**: Argo's controller starts every Workflow, ``--rate`` writes a second; the
   lag of each from the commit of Argo's write to the commit of the operator's status
   write, and CPU seconds per reaction;
3. **steady**: one Workflow finishes every 1/``--steady-rate`` s for ``--steady-seconds``
   (longer than our resync, which runs meanwhile); the lag of each;
4. **idle**: requests the operator sends in ``--idle-seconds`` with nothing changing;
5. **memory**: peak and steady RSS, then a restart over the N live workloads: the new
   process's peak against its own steady RSS once settled.

Times share 2 cores with the emulator, OPA and whatever else runs: indicative only, and
the spread of repeats says how much. ``--policies`` must compile under OPA.

    python -m bench.scale [--workloads 2000] [--repeat 2] [--only ours|bare] [--policies DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentic_contract import pipeline
from agentic_operator import api, argo_names
from agentic_operator.timestamps import now_text
from bench.bare_kopf import answered as bare_answered
from bench.harness import (
    AW,
    WF,
    Commits,
    Operator,
    Spread,
    bare_kopf,
    gc_pauses,
    kubeconfig,
    lags,
    ours,
    paced,
    real_opa,
)
from testkit import argo_sim
from testkit.apiserver.cluster import Cluster
from testkit.factories import workload
from testkit.operator_process import ROOT

NS = "team-a"
RESYNC = 30.0  # ours, for the benchmark: the steady and idle windows are longer


def _store(cluster: Cluster) -> Any:
    return cluster.emulator.store


def _create_workloads(cluster: Cluster, names: list[str]) -> None:
    def create(batch: list[str]) -> None:
        store = _store(cluster)
        resource = store.lookup(*AW)
        for name in batch:
            body = workload(name=name, namespace=NS)
            for key in ("uid", "resourceVersion", "generation"):
                body["metadata"].pop(key)
            store.create(resource, NS, body)

    for i in range(0, len(names), 200):
        cluster.in_loop(lambda batch=names[i : i + 200]: create(batch))  # type: ignore[misc]


def _create_workflows(cluster: Cluster, names: list[str]) -> None:
    """The Workflows bare kopf has no code to create: labelled and owned as ours are."""

    def create(batch: list[str]) -> None:
        store = _store(cluster)
        workloads, workflows = store.lookup(*AW), store.lookup(*WF)
        for name in batch:
            owner = store.get(workloads, NS, name)["metadata"]
            ref = {"apiVersion": api.API_VERSION, "kind": api.KIND, "name": name, "uid": owner["uid"]}
            meta = {"name": name, "labels": {argo_names.LABEL_MANAGED_BY: argo_names.MANAGER}, "ownerReferences": [ref]}
            spec = {"arguments": {"parameters": [{"name": pipeline.PARAM_JOB_ID, "value": name}]}}
            store.create(
                workflows,
                NS,
                {"apiVersion": argo_names.API_VERSION, "kind": "Workflow", "metadata": meta, "spec": spec},
            )

    for i in range(0, len(names), 200):
        cluster.in_loop(lambda batch=names[i : i + 200]: create(batch))  # type: ignore[misc]


def _count(cluster: Cluster, check: Callable[[dict[str, Any]], bool]) -> int:
    def count() -> int:
        store = _store(cluster)
        return sum(1 for obj in store.list(store.lookup(*AW), NS, lambda _: True)["items"] if check(obj))

    return cluster.in_loop(count)


def _argo_plan(
    cluster: Cluster, names: list[str], change: Callable[[dict[str, Any]], dict[str, Any] | None]
) -> dict[str, dict[str, Any]]:
    """Argo's next write to each of these Workflows, worked out before any is committed.

    Argo's controller works in its own process; replaying its recorded shapes here
    (``argo_sim.advance`` renames a whole recording) costs milliseconds a Workflow, and
    in the emulator's loop it would be the emulator's time, capping the burst's rate."""

    def read() -> dict[str, dict[str, Any]]:
        store = _store(cluster)
        resource = store.lookup(*WF)
        return {name: store.get(resource, NS, name) for name in names}

    return {name: new for name, wf in cluster.in_loop(read).items() if (new := change(wf)) is not None}


def _argo_writes(cluster: Cluster, names: list[str], planned: dict[str, dict[str, Any]]) -> list[tuple[float, str]]:
    """Commit Argo's planned write to each of these Workflows; (commit time, name) of each."""

    def write() -> list[tuple[float, str]]:
        store = _store(cluster)
        resource = store.lookup(*WF)
        done = []
        for name in names:
            if name in planned:
                store.replace(resource, NS, name, planned[name], None)
            done.append((time.monotonic(), name))
        return done

    return cluster.in_loop(write)


def _finished(wf: dict[str, Any]) -> dict[str, Any]:
    return {**wf, "status": {**(wf.get("status") or {}), "phase": "Succeeded", "finishedAt": now_text()}}


def _wait(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _settled(cluster: Cluster, commits: Commits, quiet: float = 2.0, timeout: float = 300) -> None:
    """Wait until the operator has written nothing for ``quiet`` seconds."""

    def quiet_now() -> bool:
        log = commits.log()
        return not log or time.monotonic() - log[-1][0] >= quiet

    _wait(quiet_now, timeout)


def measure(kind: str, n: int, workdir: Path, opa_url: str, args: argparse.Namespace) -> dict[str, Any]:
    names = [f"job-{i:05d}" for i in range(n)]
    cluster = Cluster(namespaces=(NS,), timeout=120, history=max(10_000, 4 * n)).start()
    result: dict[str, Any] = {"operator": kind, "workloads": n}
    make: Callable[[], Operator]
    profile = (args.profile / f"{kind}-{n}-{time.strftime('%H%M%S')}.txt") if args.profile else None
    if kind == "ours":
        make = lambda: ours(kubeconfig(cluster, workdir, NS), workdir, NS, opa_url, resync_seconds=RESYNC)  # noqa: E731
        answered: Callable[[dict[str, Any]], bool] = lambda w: (w.get("status") or {}).get("phase") == "Pending"  # noqa: E731
    else:
        make = lambda: bare_kopf(kubeconfig(cluster, workdir, NS), workdir, NS, tuned=kind == "bare-tuned")  # noqa: E731
        answered = bare_answered
    started: list[Operator] = []  # stopped whatever happens
    try:
        cluster.create("workflowtemplates", NS, {"metadata": {"name": api.DEFAULT_TEMPLATE}, "spec": {}})
        commits = Commits(cluster)
        operator = make()
        operator.profile = profile
        started.append(operator)
        operator.start(cluster)

        start, drain_cpu, harness_cpu = time.monotonic(), operator.cpu_seconds(), time.process_time()
        _create_workloads(cluster, names)
        result["drain_complete"] = _wait(lambda: _count(cluster, answered) == n, 900)
        drained = commits.answers(api.PLURAL, start)
        result["drain_s"] = round(max(max(t) for t in drained.values()) - start, 2) if drained else None
        # who was busy: near 1.0 for the emulator (and this harness) is a saturated GIL
        result["drain_cpu_share"] = {
            "emulator": round((time.process_time() - harness_cpu) / (time.monotonic() - start), 2),
            "operator": round((operator.cpu_seconds() - drain_cpu) / (time.monotonic() - start), 2),
        }
        result["drain_requests"] = cluster.requests(agent=("agentic-operator", "kopf", "bare-kopf"))
        if args.drain_only:
            return result
        if kind != "ours":
            _create_workflows(cluster, names)
        _settled(cluster, commits)

        started_all = _argo_plan(cluster, names, argo_sim.advance)
        since, cpu, harness_cpu = time.monotonic(), operator.cpu_seconds(), time.process_time()
        triggers: list[tuple[float, str]] = []

        def burst_writes(r: range) -> None:
            triggers.extend(_argo_writes(cluster, names[r.start : r.stop], started_all))

        took = paced(n, args.rate, burst_writes)
        result["burst_rate_per_s"] = round(n / took)
        # the emulator's (and this harness's) CPU over the burst: near 1.0 is a saturated GIL
        result["emulator_cpu_share"] = round((time.process_time() - harness_cpu) / (time.monotonic() - since), 2)
        _wait(lambda: len(lags(triggers, commits.answers(api.PLURAL, since))) == n, 300)
        _settled(cluster, commits)
        reactions = sum(len(t) for t in commits.answers(api.PLURAL, since).values())
        burst = lags(triggers, commits.answers(api.PLURAL, since))
        result["burst"] = {**Spread(burst).summary(), "unanswered": n - len(burst)}
        result["cpu_ms_per_reaction"] = round((operator.cpu_seconds() - cpu) / max(1, reactions) * 1000, 2)
        result["reactions"] = reactions
        result["rss_mib"], result["peak_rss_mib"] = operator.rss_mib(), operator.peak_rss_mib()

        steady_n = int(args.steady_seconds * args.steady_rate)
        finished = _argo_plan(cluster, names[:steady_n], _finished)
        since = time.monotonic()
        changes: list[tuple[float, str]] = []

        def steady_writes(r: range) -> None:
            changes.extend(_argo_writes(cluster, names[r.start : r.stop], finished))

        paced(steady_n, args.steady_rate, steady_writes)
        _settled(cluster, commits)
        answers = commits.answers(api.PLURAL, since)
        steady = lags(changes, answers)
        result["steady"] = {**Spread(steady).summary(), "unanswered": steady_n - len(steady)}
        timed = [(round(at - since, 1), lags([(at, name)], answers)) for at, name in changes]
        worst = sorted(((at, lag[0]) for at, lag in timed if lag), key=lambda x: -x[1])[:5]
        result["steady"]["worst"] = [(at, round(lag * 1000)) for at, lag in worst]  # (s into the window, ms)
        result["gc_pauses"] = gc_pauses(operator)  # since the start, ours only

        cluster.reset_requests()
        idle_cpu = operator.cpu_seconds()
        time.sleep(args.idle_seconds)
        result["idle_cpu_s"] = round(operator.cpu_seconds() - idle_cpu, 2)
        agents = ("agentic-operator", "kopf", "bare-kopf")
        result["idle_requests"] = cluster.requests(agent=agents) - cluster.requests(agent=agents, verb="watch")
        result["idle_seconds"] = args.idle_seconds

        steady_rss = operator.rss_mib()
        operator.stop()
        restarted = make()
        started.append(restarted)
        restarted.start(cluster, timeout=max(120, n / 20))  # its lists: 20,000 Workflows took over 120 s
        _settled(cluster, commits, quiet=3)
        time.sleep(2)
        result["restart"] = {
            "steady_before_mib": steady_rss,
            "peak_mib": restarted.peak_rss_mib(),
            "settled_mib": restarted.rss_mib(),
        }
    finally:
        for process in started:
            process.stop()
        cluster.stop()
    return result


def _spread(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{statistics.median(values):g} ({min(values):g}-{max(values):g})"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", choices=("ours", "bare", "bare-tuned"), action="append")
    parser.add_argument("--rate", type=float, default=300.0, help="Argo's writes per second in the burst")
    parser.add_argument("--steady-rate", type=float, default=10.0)
    parser.add_argument("--steady-seconds", type=float, default=40.0)
    parser.add_argument("--idle-seconds", type=float, default=40.0)
    parser.add_argument("--drain-only", action="store_true", help="stop after the drain")
    parser.add_argument("--policies", type=Path, default=ROOT / "policies")
    parser.add_argument("--json", type=Path, help="also write every result here")
    parser.add_argument("--profile", type=Path, help="a folder for py-spy samples of each operator's first process")
    return parser


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every measurement, printed as it comes (one JSON line each), then a summary."""
    kinds = args.only or ["ours", "bare"]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, real_opa(args.policies, Path(tmp)) as opa_url:
        for _ in range(args.repeat):
            for kind in kinds:
                result = measure(kind, args.workloads, Path(tmp), opa_url, args)
                print(json.dumps(result), flush=True)
                results.append(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print("median (min-max) over repeats")
    for kind in kinds:
        mine = [r for r in results if r["operator"] == kind]
        line = f"{kind}: drain {_spread([r['drain_s'] for r in mine])} s"
        if not args.drain_only:
            line += (
                f"; burst p99 {_spread([r['burst'].get('p99_ms') for r in mine])} ms; "
                f"steady p99 {_spread([r['steady'].get('p99_ms') for r in mine])} ms; "
                f"cpu/reaction {_spread([r['cpu_ms_per_reaction'] for r in mine])} ms; "
                f"peak rss {_spread([r['peak_rss_mib'] for r in mine])} MiB; "
                f"restart peak {_spread([r['restart']['peak_mib'] for r in mine])} MiB"
            )
        print(line, flush=True)
    return results


def main() -> None:
    run(parser().parse_args())


if __name__ == "__main__":
    main()
