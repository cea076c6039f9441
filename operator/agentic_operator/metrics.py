"""Prometheus metrics and the operator's HTTP endpoints (/metrics, /healthz, /readyz).

A registry of its own (not prometheus_client's global one) so tests and several
operators in one process never share counters. Phase counts are computed at scrape time
from the watch cache rather than kept in step with every transition.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from agentic_operator import api

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _PhaseCollector(Collector):
    def __init__(self, workloads: Callable[[], Iterable[Mapping[str, Any]]]) -> None:
        self._workloads = workloads

    def collect(self) -> Iterable[GaugeMetricFamily]:
        tally = Tally(str((w.get("status") or {}).get("phase") or "New") for w in self._workloads())
        family = GaugeMetricFamily("agentic_workloads", "AgentWorkloads by phase", labels=["phase"])
        for phase in ("New", *api.PHASES):
            family.add_metric([phase], tally.get(phase, 0))
        yield family


class Metrics:
    def __init__(self, workloads: Callable[[], Iterable[Mapping[str, Any]]] = list) -> None:
        self.registry = CollectorRegistry()
        self.reconciles = Counter(
            "agentic_reconciles", "Reconciles by result (ok, error)", ["result"], registry=self.registry
        )
        self.errors = Counter(
            "agentic_reconcile_errors", "Reconcile errors by exception type", ["error"], registry=self.registry
        )
        self.decisions = Counter(
            "agentic_decisions", "Recorded decisions by stage and outcome", ["stage", "allowed"], registry=self.registry
        )
        self.policy_unavailable = Counter(
            "agentic_policy_unavailable", "Policy queries that got no decision", ["query"], registry=self.registry
        )
        self.gate_wait = Histogram(
            "agentic_gate_wait_seconds",
            "Time from reaching the approval gate to its decision",
            buckets=(1, 10, 60, 300, 900, 1800, 3600, 7200, 21600, 86400),
            registry=self.registry,
        )
        self.api_requests = Counter(
            "agentic_api_requests",
            "Kubernetes API requests by method (WATCH for watch streams) and HTTP status",
            ["method", "code"],
            registry=self.registry,
        )
        self.gc_pause = Histogram(
            "agentic_gc_pause_seconds",
            "Garbage-collection pauses by generation",
            ["generation"],
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
            registry=self.registry,
        )
        self.registry.register(_PhaseCollector(workloads))

    def api_response(self, method: str, status: int) -> None:
        self.api_requests.labels(method, str(status)).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
