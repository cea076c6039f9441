"""The benchmarks run, and the request counts BENCHMARKS.md reports still hold (counts, not times)."""

from __future__ import annotations

from bench import lifecycle


def test_lifecycle_counts_per_workload() -> None:
    auto = lifecycle.run(5, deny_gate=False)
    assert auto["phases"] == {"Succeeded": 5}
    assert auto["requests_per_workload"] == {"create": 1.0, "get": 2.0, "patch-status": 3.0, "replace": 1.0}
    assert auto["policy_queries_per_workload"] == 2.0
    human = lifecycle.run(5, deny_gate=True)
    assert human["phases"] == {"Succeeded": 5} and human["writes_per_workload"] == 6.0
