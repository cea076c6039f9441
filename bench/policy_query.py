"""What one policy query costs: serially, through the operator's OpaClient, against the real
OPA (testkit.opa.OpaServer: `opa run --server` loaded as the sidecar loads it), one OPA per
policy folder, folders side by side in the same run.

Inputs are the operator's own (``reconcile.admission_input`` / ``gate_input`` for
testkit's factory workload): admission with one target URL (the benchmarks' workload),
five (names, a port, an IPv6 address) and twenty (names); the gate for a run that is
auto-approved. For each: 5 queries to warm up, then ``--queries`` one after another.
Reported per query: the median and mean wall time the client sees (HTTP and JSON on both
sides included), and OPA's CPU time (user + system from /proc, which counts in clock
ticks: 10 ms, so 100 queries of ~1 ms resolve to ~10%).

    python -m bench.policy_query [--policies DIR ...] [--queries 100]
    python -m bench.policy_query --write-inputs DIR   # the same inputs as files, for `opa bench -i`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

from agentic_contract import pipeline
from agentic_operator import api, argo, reconcile
from agentic_operator.decision import ADMISSION, GATE
from agentic_operator.policy import OpaClient
from testkit.factories import SETTINGS, workload
from testkit.opa import OpaServer
from testkit.operator_process import ROOT
from testkit.processes import cpu_seconds

WARM_UP = 5

FIVE = [
    "https://www.python.org/downloads/",
    "https://nodejs.org/en/about/previous-releases",
    "https://example.com/a?b=c",
    "http://news.ycombinator.com:8080/",
    "https://[2606:4700::1111]/",
]
TWENTY = [f"https://site{i}.example.{tld}/page" for i, tld in enumerate(["com", "org", "net", "io", "dev"] * 4)]
OUTPUTS = {
    pipeline.STEP_SCRAPER: {"pages-fetched": "10", "pages-failed": "1"},
    pipeline.STEP_SCREENSHOTS: {"screenshots": "10"},
    pipeline.STEP_DOM: {"confidence": "0.97", "elements": "42"},
}


def inputs() -> dict[str, tuple[str, dict[str, Any]]]:
    """Name -> (query, input), as the operator builds them."""

    def admission(urls: list[str]) -> tuple[str, dict[str, Any]]:
        wl = workload(targetUrls=urls)
        return ADMISSION, reconcile.admission_input(wl, api.parse(wl), SETTINGS)

    wl = workload()
    status = argo.WorkflowStatus(
        phase="Running", nodes_total=5, nodes_succeeded=3, progress="3/5", step_outputs=OUTPUTS
    )
    return {
        "admission-1": admission(["https://example.com/"]),
        "admission-5": admission(FIVE),
        "admission-20": admission(TWENTY),
        "gate": (GATE, reconcile.gate_input(wl, api.parse(wl), status, SETTINGS)),
    }


def measure(server: OpaServer, query: str, document: dict[str, Any], queries: int) -> dict[str, Any]:
    return asyncio.run(_measure(server, query, document, queries))


async def _measure(server: OpaServer, query: str, document: dict[str, Any], queries: int) -> dict[str, Any]:
    async with OpaClient(server.url) as client:  # one kept connection, as the operator's
        for _ in range(WARM_UP):
            decision = await client.evaluate(query, document)
        times = []
        cpu = cpu_seconds(server.pid)
        for _ in range(queries):
            start = time.perf_counter()
            await client.evaluate(query, document)
            times.append(time.perf_counter() - start)
    return {
        "allowed": decision.allowed,
        "median_ms": round(statistics.median(times) * 1000, 2),
        "mean_ms": round(statistics.fmean(times) * 1000, 2),
        "opa_cpu_ms": round((cpu_seconds(server.pid) - cpu) / queries * 1000, 2),
    }


def run(folders: list[Path], queries: int) -> list[dict[str, Any]]:
    results = []
    cases = inputs()
    for folder in folders:
        with OpaServer(policy_dir=folder) as server:
            for name, (query, document) in cases.items():
                result = {"policies": str(folder), "input": name, **measure(server, query, document, queries)}
                print(result, flush=True)
                results.append(result)
    print(f"\n| policies | input | allowed | median ms | mean ms | OPA CPU ms |\n|{'---|' * 6}")
    for r in results:
        cells = (r["policies"], r["input"], r["allowed"], r["median_ms"], r["mean_ms"], r["opa_cpu_ms"])
        print("| " + " | ".join(str(c) for c in cells) + " |")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--policies",
        type=Path,
        action="append",
        help="a policy folder (repeat to compare); default policies/ and bench/policies-allow",
    )
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--write-inputs", type=Path, metavar="DIR", help="write <input>.json files there and stop")
    args = parser.parse_args()
    if args.write_inputs:
        args.write_inputs.mkdir(parents=True, exist_ok=True)
        for name, (_, document) in inputs().items():
            (args.write_inputs / f"{name}.json").write_text(json.dumps(document, indent=1) + "\n")
        return
    run(args.policies or [ROOT / "policies", ROOT / "bench" / "policies-allow"], args.queries)


if __name__ == "__main__":
    main()
