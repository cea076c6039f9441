"""API requests and writes per AgentWorkload over its whole lifecycle, through the real Worker.

The Worker runs against the in-memory API of testkit/fake_k8s.py with Argo played by
testkit/argo_sim.py one controller write at a time, and every write reconciled as the
operator sees it (then once more, as the runtime does when the watch echoes our own
write), so the counts are those of Argo's steps seen one by one, echoes included.
Status writes that change no phase are held for the worker's coalescing window
(``--coalesce``, the operator's default); ``--step-seconds`` is how far the worker's
clock moves between two of Argo's writes (0: the whole lifecycle within one window;
the window or more: every progress change is written). Counts are exact and
repeatable; the microseconds per reconcile are indicative only (an in-memory API: a
real reaction adds HTTP, see bench.scale).

    python -m bench.lifecycle [--workloads N] [--deny-gate] [--step-seconds S]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

from agentic_operator.decision import ADMISSION, GATE, Decision
from agentic_operator.settings import Settings
from testkit.factories import workload
from testkit.world import StubPolicy, World

ALLOW = Decision(True, ("ok",), "bench")
COALESCE = Settings.status_coalesce_seconds


def run(n: int, *, deny_gate: bool, step_seconds: float = 0.0, coalesce: float = COALESCE) -> dict[str, Any]:
    gate = Decision(False, ("low confidence",), "bench") if deny_gate else ALLOW
    world = World(StubPolicy({ADMISSION: ALLOW, GATE: gate}), coalesce_seconds=coalesce)
    names = [f"job-{i:05d}" for i in range(n)]
    for name in names:
        world.submit(workload(name=name))
    start_calls = len(world.api.calls)
    reconciles, elapsed = 0, 0.0

    def seen(name: str) -> None:
        nonlocal reconciles, elapsed
        for _ in range(2):  # the change, then the watch echo of our own write
            t = time.perf_counter()
            world.reconcile(("team-a", name))
            elapsed += time.perf_counter() - t
            reconciles += 1

    def argo_until_it_waits(name: str) -> None:
        while world.argo_step(name):
            world.monotonic += step_seconds
            seen(name)

    for name in names:
        seen(name)  # admission, template check, create
        argo_until_it_waits(name)  # to the gate: decided, resumed (or AwaitingApproval)
        if deny_gate:
            wl = world.api.objects[("agentworkloads", "team-a", name)]
            wl["metadata"]["annotations"] = {"agentic.dev/approval": "approved", "agentic.dev/approval-by": "bench"}
            world.worker.workloads.put(world.api.put("agentworkloads", wl))
            seen(name)
        argo_until_it_waits(name)  # synthesis, done
        world.monotonic += coalesce  # anything still held is due now
        seen(name)
    phases = Counter(world.status(name).get("phase") for name in names)
    calls = Counter(verb for verb, key in world.api.calls[start_calls:])
    writes = sum(c for v, c in calls.items() if v != "get") / n
    events = len(world.events.posted) / n
    return {
        "workloads": n,
        "gate": "denied, then approved by annotation" if deny_gate else "auto-approved",
        "step_seconds": step_seconds,
        "phases": dict(phases),
        "requests_per_workload": {verb: count / n for verb, count in sorted(calls.items())},
        "writes_per_workload": writes,
        "events_per_workload": events,
        "writes_with_events_per_workload": writes + events,
        "policy_queries_per_workload": len(world.policy.asked) / n,
        "reconciles": reconciles,
        "us_per_reconcile": round(elapsed / reconciles * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--deny-gate", action="store_true")
    parser.add_argument("--step-seconds", type=float, default=0.0)
    args = parser.parse_args()
    for key, value in run(args.workloads, deny_gate=args.deny_gate, step_seconds=args.step_seconds).items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
