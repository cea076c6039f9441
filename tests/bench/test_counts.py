"""The benchmarks' counts, held: a change that costs more requests or writes fails here
(the times they report are never asserted)."""

from __future__ import annotations

from pathlib import Path

from bench import lifecycle, scale
from bench.harness import real_opa


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


def test_the_scale_script_runs_every_phase_for_both_operators(tmp_path: Path) -> None:
    """`bench.scale` end to end at 20 workloads, each operator against its own emulator and
    the real OPA over policies/: every workload drained, every burst and steady change
    answered, no request while idle (a harness that breaks on one operator fails here,
    not in `make bench`)."""
    args = scale.parser().parse_args(["--workloads", "20", "--steady-seconds", "2", "--idle-seconds", "1"])
    with real_opa(args.policies, tmp_path) as opa_url:
        for kind in ("ours", "bare"):
            result = scale.measure(kind, 20, tmp_path, opa_url, args)
            assert result["drain_complete"], kind
            assert (result["burst"]["n"], result["burst"]["unanswered"]) == (20, 0), kind
            assert (result["steady"]["n"], result["steady"]["unanswered"]) == (20, 0), kind
            assert result["idle_requests"] == 0, kind
