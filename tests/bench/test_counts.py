"""The benchmarks' counts, held: a change that costs more requests or writes fails here
(the times they report are never asserted)."""

from __future__ import annotations

from bench import lifecycle


def test_an_auto_approved_lifecycle_costs_eight_writes_with_its_events() -> None:
    """Argo's steps seen one by one, within one coalescing window: one status write per phase."""
    counts = lifecycle.run(20, deny_gate=False)
    assert counts["phases"] == {"Succeeded": 20}
    assert counts["requests_per_workload"]["patch-status"] == 3  # Pending, Running, Succeeded
    assert counts["requests_per_workload"]["create"] == counts["requests_per_workload"]["replace"] == 1
    assert counts["writes_with_events_per_workload"] == 8
    assert counts["policy_queries_per_workload"] == 2


def test_progress_is_written_at_most_once_a_window() -> None:
    """A window between every step of Argo's: progress shows, one write more, not one per step."""
    counts = lifecycle.run(20, deny_gate=False, step_seconds=lifecycle.COALESCE)
    assert counts["requests_per_workload"]["patch-status"] == 4
    assert counts["writes_with_events_per_workload"] == 9


def test_a_human_approval_adds_its_two_transitions_only() -> None:
    counts = lifecycle.run(20, deny_gate=True)
    assert counts["phases"] == {"Succeeded": 20}
    assert counts["requests_per_workload"]["patch-status"] == 5  # + AwaitingApproval, Running again
    assert counts["writes_per_workload"] == 7
    assert counts["events_per_workload"] == 5
    assert counts["policy_queries_per_workload"] == 2
