"""What the seed's design costs while nothing happens, beside ours, on the emulated API server.

The seed requeued every workload every 15-30 s and wrote its status on each pass
(bench/bare_kopf.py ``--seed`` plays it: a kopf daemon per AgentWorkload). Ours
reconciles from its caches and writes only what changed. N AgentWorkloads exist and
nothing changes; after ``--settle`` seconds, every request either operator sends in
``--window`` seconds is counted (watch streams excluded: they stay open), as requests
per minute. The window is longer than our resync, so a resync pass is inside it.

    python -m bench.seed [--workloads 1000] [--window 60]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import Operator, bare_kopf, kubeconfig, ours, real_opa
from bench.scale import NS, RESYNC, _create_workloads
from testkit.apiserver.cluster import Cluster
from testkit.operator_process import ROOT

AGENTS = ("agentic-operator", "kopf", "bare-kopf")


def idle_requests(make: Any, n: int, settle: float, window: float) -> dict[str, Any]:
    cluster = Cluster(namespaces=(NS,), timeout=120, history=max(10_000, 4 * n)).start()
    try:
        cluster.create("workflowtemplates", NS, {"metadata": {"name": "visual-analysis-template"}, "spec": {}})
        _create_workloads(cluster, [f"job-{i:05d}" for i in range(n)])
        operator: Operator = make(cluster)
        with operator:
            operator.start(cluster)
            time.sleep(settle)
            cluster.reset_requests()
            time.sleep(window)
            sent = cluster.requests(agent=AGENTS) - cluster.requests(agent=AGENTS, verb="watch")
            writes = cluster.requests(agent=AGENTS, verb=("create", "update", "patch", "delete"))
    finally:
        cluster.stop()
    return {
        "operator": operator.name,
        "workloads": n,
        "requests_per_minute": round(sent * 60 / window),
        "writes_per_minute": round(writes * 60 / window),
    }


def run(n: int, *, settle: float, window: float, policies: Path) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp, real_opa(policies, Path(tmp)) as opa_url:
        work = Path(tmp)
        return [
            idle_requests(lambda c: bare_kopf(kubeconfig(c, work, NS), work, NS, seed=True), n, settle, window),
            idle_requests(
                lambda c: ours(kubeconfig(c, work, NS), work, NS, opa_url, resync_seconds=RESYNC), n, settle, window
            ),
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--settle", type=float, default=40.0, help="seconds after start before counting")
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--policies", type=Path, default=ROOT / "bench" / "policies-allow")
    args = parser.parse_args()
    for result in run(args.workloads, settle=args.settle, window=args.window, policies=args.policies):
        print(result)


if __name__ == "__main__":
    main()
