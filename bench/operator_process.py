"""The real operator process against the emulated API server, with many AgentWorkloads.

Submits N workloads at once, plays Argo to the gate, then to the end, and reports: how
long after the test's last write (submissions, Argo's steps) every workload reached each
stage, the requests the operator (and kopf) sent
per workload, the requests sent while idle, and the operator's peak memory. The
emulator, the test-side Argo and the operator share 2 cores, so times are indicative;
request counts are the thing to compare.

    python -m bench.operator_process [--workloads N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from testkit.apiserver.cluster import Cluster
from testkit.factories import workload
from testkit.opa import OpaServer
from testkit.operator_process import ArgoPlayer, OperatorProcess

NS = "team-a"
OURS = ("agentic-operator", "kopf")


def _phases(cluster: Cluster) -> Counter[str]:
    return Counter(str((w.get("status") or {}).get("phase")) for w in cluster.objects("agentworkloads", NS))


def _until(cluster: Cluster, check: Any, timeout: float) -> float:
    start = time.monotonic()
    cluster.wait_for(check, timeout=timeout, interval=0.1)
    return round(time.monotonic() - start, 2)


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def run(n: int) -> dict[str, Any]:
    names = [f"job-{i:05d}" for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp, OpaServer() as opa:
        cluster = Cluster(namespaces=(NS,), timeout=30).start()
        try:
            cluster.create("workflowtemplates", NS, {"metadata": {"name": "visual-analysis-template"}, "spec": {}})
            player = ArgoPlayer(cluster, NS)
            with OperatorProcess(cluster, Path(tmp), opa_url=opa.url) as operator:
                cluster.reset_requests()
                for name in names:
                    body = workload(name=name, namespace=NS)
                    for key in ("uid", "resourceVersion", "generation"):
                        body["metadata"].pop(key)
                    cluster.create("agentworkloads", NS, body)
                to_pending = _until(cluster, lambda: _phases(cluster)["Pending"] == n, 600)
                for name in names:
                    player.run(name)
                to_resumed = _until(
                    cluster,
                    lambda: (
                        sum(
                            any(
                                c["type"] == "Approved" and c["status"] == "True"
                                for c in (w.get("status") or {}).get("conditions", [])
                            )
                            for w in cluster.objects("agentworkloads", NS)
                        )
                        == n
                    ),
                    600,
                )
                for name in names:
                    player.run(name)
                to_done = _until(cluster, lambda: _phases(cluster)["Succeeded"] == n, 600)
                time.sleep(1)
                sent = {agent: cluster.requests(agent=agent) for agent in OURS}
                kinds = {(c.verb, c.resource, c.subresource) for c in cluster.calls(agent="agentic-operator")}
                by_kind = {
                    f"{verb} {resource}{'/' + sub if sub else ''}": cluster.requests(
                        agent="agentic-operator", verb=verb, resource=resource, subresource=sub
                    )
                    for verb, resource, sub in kinds
                }
                cluster.reset_requests()
                time.sleep(10)
                idle = cluster.requests(agent=OURS) - cluster.requests(agent=OURS, verb="watch")
                rss = _peak_rss_mib(operator._proc.pid) if operator._proc else float("nan")
        finally:
            cluster.stop()
    return {
        "workloads": n,
        "seconds_to_all_pending": to_pending,
        "seconds_from_gate_to_all_resumed": to_resumed,
        "seconds_from_resume_to_all_succeeded": to_done,
        "operator_requests_per_workload": {k: round(v / n, 2) for k, v in sorted(by_kind.items())},
        "kopf_requests": sent["kopf"],
        "requests_while_idle_10s": idle,
        "operator_peak_rss_mib": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", type=int, default=200)
    for key, value in run(parser.parse_args().workloads).items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
