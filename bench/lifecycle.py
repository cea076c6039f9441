"""API requests and writes per AgentWorkload over its whole lifecycle, through the real Worker.

The Worker runs against the in-memory API of testkit/fake_k8s.py with Argo played by
testkit/argo_sim.py; after every pass each key is reconciled once more, as the runtime does
when the watch echoes a write, so the counts include what echoes cost. Counts are exact
and repeatable; the microseconds per reconcile are indicative only (noisy machines).

    python -m bench.lifecycle [--workloads N] [--deny-gate]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

from agentic_operator.decision import ADMISSION, GATE, Decision
from testkit.factories import workload
from testkit.world import StubPolicy, World

ALLOW = Decision(True, ("ok",), "bench")


def run(n: int, *, deny_gate: bool) -> dict[str, Any]:
    gate = Decision(False, ("low confidence",), "bench") if deny_gate else ALLOW
    world = World(StubPolicy({ADMISSION: ALLOW, GATE: gate}))
    names = [f"job-{i:05d}" for i in range(n)]
    for name in names:
        world.submit(workload(name=name))
    start_calls = len(world.api.calls)
    reconciles, elapsed = 0, 0.0

    def each_twice() -> None:
        nonlocal reconciles, elapsed
        for name in names:
            for _ in range(2):  # the change, then the watch echo of our own write
                t = time.perf_counter()
                world.reconcile(("team-a", name))
                elapsed += time.perf_counter() - t
                reconciles += 1

    each_twice()  # admission, template check, create
    for name in names:
        world.argo_runs(name)  # to the gate
    each_twice()  # gate decision, resume (or AwaitingApproval)
    if deny_gate:
        for name in names:
            wl = world.api.objects[("agentworkloads", "team-a", name)]
            wl["metadata"]["annotations"] = {"agentic.dev/approval": "approved", "agentic.dev/approval-by": "bench"}
            world.worker.workloads.put(world.api.put("agentworkloads", wl))
        each_twice()
    for name in names:
        world.argo_runs(name)  # synthesis, done
    each_twice()
    phases = Counter(world.status(name).get("phase") for name in names)
    calls = Counter(verb for verb, key in world.api.calls[start_calls:])
    return {
        "workloads": n,
        "gate": "denied, then approved by annotation" if deny_gate else "auto-approved",
        "phases": dict(phases),
        "requests_per_workload": {verb: count / n for verb, count in sorted(calls.items())},
        "writes_per_workload": sum(c for v, c in calls.items() if v != "get") / n,
        "events_per_workload": len(world.events.posted) / n,
        "policy_queries_per_workload": len(world.policy.asked) / n,
        "reconciles": reconciles,
        "us_per_reconcile": round(elapsed / reconciles * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--deny-gate", action="store_true")
    args = parser.parse_args()
    for key, value in run(args.workloads, deny_gate=args.deny_gate).items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
