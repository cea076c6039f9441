"""The real-kube-apiserver benchmark keeps working, and its counts hold (never its times).

A small run of ``python -m tests.cluster.bench_apiserver`` on a control plane of its own
(its audit log records every write, which the lags are read from): the writes of one
auto-approved lifecycle on the real API server, and each operator answering every one of
Argo's writes in the burst and the steady phase.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tests.cluster import bench_apiserver


def test_the_benchmark_answers_every_write_and_a_lifecycle_costs_eight_writes() -> None:
    args = bench_apiserver.parser().parse_args(
        # a window longer than the lifecycles take: the count "within one window"
        ["--workloads", "12", "--lifecycles", "3", "--coalesce-seconds", "120", "--steady-seconds", "2"]
    )
    life, *measured = bench_apiserver.run(args)

    assert life["all_succeeded"], life
    assert life["seconds"] < 120, life  # else the window was not one window
    assert life["writes_per_workload"] == 8, life  # the Workflow, resume, 3 status patches, 3 Events
    assert life["events_per_workload"] == 3, life
    assert [m["operator"] for m in measured] == ["ours", "bare"]
    for result in measured:
        assert result["drain_complete"], result
        assert result["burst"]["n"] == 12 and result["burst"]["unanswered"] == 0, result
        assert result["steady"]["n"] == 12 and result["steady"]["unanswered"] == 0, result


def test_an_answer_is_the_first_write_received_after_the_trigger_and_never_negative() -> None:
    W = bench_apiserver.Write
    triggers = [W("a", 10.0, 10.5), W("b", 10.0, 10.2), W("c", 10.0, 10.1)]
    answers = [
        W("a", 9.0, 9.1),  # before the trigger: an answer to something else
        W("a", 10.6, 10.8),
        W("a", 11.0, 11.2),  # not the first
        W("b", 10.1, 10.15),  # complete before the trigger's response was (its client was slow)
    ]
    found, unanswered = bench_apiserver.answer_lags(triggers, answers)

    assert [tuple(round(x, 3) for x in f) for f in found] == [(10.5, 0.3, 0.2), (10.2, 0.0, 0.05)]
    assert unanswered == 1  # c


def test_the_writes_are_read_from_audit_events_of_one_namespace_and_resource() -> None:
    def event(ns: str, resource: str, agent: str, code: int = 200) -> dict[str, object]:
        return {
            "objectRef": {"namespace": ns, "resource": resource, "name": "job"},
            "userAgent": agent,
            "responseStatus": {"code": code},
            "requestReceivedTimestamp": "2026-12-01T10:00:00.250000Z",
            "stageTimestamp": "2026-12-01T10:00:00.500000Z",
        }

    audit = [
        event("ns", "workflows", bench_apiserver.WRITER),
        event("ns", "workflows", "agentic-operator/0.1"),
        event("other", "workflows", bench_apiserver.WRITER),
        event("ns", "agentworkloads", bench_apiserver.WRITER),
        event("ns", "workflows", bench_apiserver.WRITER, code=409),
    ]
    since = datetime(2026, 12, 1, 10, tzinfo=UTC).timestamp()

    (only,) = bench_apiserver.writes(audit, "ns", "workflows", True, since)
    assert (only.name, only.done - only.received) == ("job", 0.25)
    assert len(bench_apiserver.writes(audit, "ns", "workflows", False, since)) == 1
    assert bench_apiserver.writes(audit, "ns", "workflows", True, since + 1) == []
