"""What the scale benchmarks share: a real OPA in its own process, operators as processes,
Argo's writes committed straight into the emulated API server, and latency from commits.

Latency is the API server's own clock: the emulator records the commit of every write
(``ObjectStore.commits``), so a lag is the time from the commit of the write that
triggers a reaction to the commit of the operator's write in answer, measured while the
burst is going on. Argo's writes are committed on the emulator's event loop rather than
sent over HTTP, so the harness spends no CPU on a client while the operators are timed.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentic_operator import api, argo_names, settings
from testkit.apiserver.cluster import Cluster
from testkit.factories import SETTINGS
from testkit.opa import OpaServer
from testkit.operator_process import ROOT
from testkit.processes import cpu_seconds, free_port, stop

AW = (api.GROUP, api.VERSION, api.PLURAL)
WF = (argo_names.GROUP, argo_names.VERSION, argo_names.WORKFLOWS)


@contextlib.contextmanager
def real_opa(policies: Path, workdir: Path) -> Iterator[str]:
    """The real OPA over ``policies`` as the sidecar loads them (testkit.opa); its URL.

    Stops with OPA's own error when the Rego does not compile under OPA.
    """
    with contextlib.ExitStack() as stack:
        try:  # OPA's start only: the caller's own errors pass through as they are
            server = stack.enter_context(OpaServer(policy_dir=policies, workdir=workdir / "opa"))
        except (RuntimeError, TimeoutError) as refused:
            raise SystemExit(f"OPA refused the policies in {policies}: {refused}") from None
        yield server.url


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return int(response.status)
    except OSError:
        return 0


def _wait(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(interval)


@dataclass
class Operator:
    """One operator process logged in to the emulator; its CPU and memory from /proc."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    ready: Callable[[Operator], bool]
    proc: subprocess.Popen[bytes] | None = None
    profile: Path | None = None  # py-spy's raw (collapsed) samples of the whole run go here
    watches: int = 2  # watch streams it keeps open once started

    def start(self, cluster: Cluster | None = None, timeout: float = 120) -> Operator:
        """Start it and wait until it is ready (its lists done; and, on the emulator, watching)."""
        watches = cluster.open_watches if cluster is not None else 0
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        if self.profile is not None:  # samples of GIL-holding (running) threads only
            py_spy = Path(sys.executable).parent / "py-spy"
            pid, out = str(self.proc.pid), str(self.profile)
            sampler = [str(py_spy), "record", "--pid", pid, "--format", "raw", "--gil", "--rate", "200"]
            subprocess.Popen(
                [*sampler, "--output", out, "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        try:
            _wait(lambda: self._alive() and self.ready(self), timeout, f"{self.name} to start")
            if cluster is not None:
                _wait(lambda: cluster.open_watches >= watches + self.watches, timeout, f"{self.name}'s watches")
        except BaseException:
            self.stop()
            raise
        return self

    def _alive(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()[-3000:]}")
        return True

    def __enter__(self) -> Operator:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop(self.proc, grace=20)
        self.proc = None

    def _status(self, field: str) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def rss_mib(self) -> float:
        return round(self._status("VmRSS"), 1)

    def peak_rss_mib(self) -> float:
        return round(self._status("VmHWM"), 1)

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        return cpu_seconds(self.proc.pid)


def kubeconfig(cluster: Cluster, workdir: Path, namespace: str) -> Path:
    return cluster.kubeconfig(workdir / "kubeconfig", namespace=namespace)


def gc_pauses(operator: Operator) -> dict[str, float] | None:
    """Our operator's garbage-collection pauses so far (its /metrics): how many, how many
    over 50 ms, and their total; None for an operator without the metric."""
    port = operator.env.get("AGENTIC_HTTP_PORT")
    if port is None:
        return None
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        lines = response.read().decode().splitlines()
    total = under = seconds = 0.0
    for line in lines:
        name, _, value = line.rpartition(" ")
        if name.startswith("agentic_gc_pause_seconds_count"):
            total += float(value)
        elif name.startswith("agentic_gc_pause_seconds_bucket") and 'le="0.05"' in name:
            under += float(value)
        elif name.startswith("agentic_gc_pause_seconds_sum"):
            seconds += float(value)
    return {"count": total, "over_50ms": total - under, "total_ms": round(seconds * 1000, 1)}


def ours(kubeconfig: Path, workdir: Path, namespace: str, opa_url: str, **values: Any) -> Operator:
    """``python -m agentic_operator``, as the Deployment runs it; ``values``: Settings fields."""
    port = free_port()
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        **settings.environment(
            {
                "default_agent_image": SETTINGS.default_agent_image,
                "default_bucket": SETTINGS.default_bucket,
                "namespaces": (namespace,),
                "opa_url": opa_url,
                "http_port": port,
                "log_format": "text",
                **values,
            }
        ),
    }
    return Operator(
        "agentic-operator",
        [sys.executable, "-m", "agentic_operator"],
        env,
        workdir / f"operator-{port}.log",
        ready=lambda _: _get(f"http://127.0.0.1:{port}/readyz") == 200,
    )


def bare_kopf(kubeconfig: Path, workdir: Path, namespace: str, *, tuned: bool = False, seed: bool = False) -> Operator:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    flags = [*(["--tuned"] if tuned else []), *(["--seed"] if seed else [])]
    log = workdir / f"bare-kopf-{free_port()}.log"
    return Operator(
        "bare kopf" + (" (tuned)" if tuned else "") + (" (seed design)" if seed else ""),
        [sys.executable, "-m", "bench.bare_kopf", "--namespace", namespace, *flags],
        env,
        log,
        ready=lambda _: True,  # its watches opening (start()) is what tells
        watches=1 if seed else 2,  # the seed's daemons watch AgentWorkloads only
    )


class Commits:
    """The emulator's commit log, and lags read from it."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        cluster.in_loop(lambda: setattr(cluster.emulator.store, "commits", []))

    def log(self) -> list[tuple[float, int, str, Any, str]]:
        return list(self.cluster.in_loop(lambda: list(self.cluster.emulator.store.commits or ())))

    def answers(self, plural: str, since: float) -> dict[str, list[float]]:
        """Commit times of writes to ``plural`` after ``since``, by object name."""
        out: dict[str, list[float]] = defaultdict(list)
        for at, _, kind_plural, key, _ in self.log():
            if kind_plural == plural and at >= since:
                out[key[1]].append(at)
        return out


def lags(triggers: Iterable[tuple[float, str]], answers: dict[str, list[float]]) -> list[float]:
    """Seconds from each trigger's commit to the first answer committed after it (for that
    name); triggers never answered are left out (and counted by the caller)."""
    out = []
    for at, name in triggers:
        times = answers.get(name, [])
        i = bisect.bisect_right(times, at)
        if i < len(times):
            out.append(times[i] - at)
    return out


@dataclass
class Spread:
    """p50, p99 and max of some latencies, in milliseconds."""

    values: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        if not self.values:
            return {"n": 0}
        ordered = sorted(self.values)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return {
            "n": len(ordered),
            "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p99_ms": round(p99 * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1),
        }


def paced(count: int, rate: float, action: Callable[[range], None], *, tick: float = 0.01) -> float:
    """Call ``action`` with consecutive ranges of indices, ``rate`` indices a second in all,
    one range per ``tick`` seconds (a write per hop to the emulator's loop cannot keep up
    with 300 a second); the seconds it took."""
    start, done = time.monotonic(), 0
    while done < count:
        due = min(count, int((time.monotonic() - start) * rate) + 1)
        if due > done:
            action(range(done, due))
            done = due
        time.sleep(tick)
    return time.monotonic() - start
