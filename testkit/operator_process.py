"""The real operator (`python -m agentic_operator`) as a process, and Argo played by the test.

``OperatorProcess`` starts the same entry point the Deployment runs, logged in through a
kubeconfig that a :class:`Login` writes (the emulated cluster's, or a ServiceAccount
token's on the real control plane: tests/cluster), and reads its /readyz and /metrics.
``ArgoPlayer``
writes Workflow status the way Argo's controller would (testkit/argo_sim.py); it writes
with merge patches that carry the read resourceVersion (so a stale write is a 409, as
Argo's full updates are), which leaves every PUT of a Workflow to the operator's resume.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Protocol

from kubernetes.client.exceptions import ApiException

from agentic_operator import settings
from testkit import argo_sim
from testkit.apiserver.cluster import Cluster
from testkit.factories import SETTINGS
from testkit.processes import free_port, stop

ROOT = Path(__file__).resolve().parents[1]


class Login(Protocol):
    """Writes a kubeconfig the operator logs in with, its context in ``namespace``."""

    def kubeconfig(self, path: Path, *, namespace: str) -> Path: ...


class OperatorProcess:
    def __init__(
        self,
        cluster: Login,
        workdir: Path,
        *,
        opa_url: str,
        namespace: str = "team-a",
        python: tuple[str, ...] = (sys.executable,),
        env: dict[str, str] | None = None,
    ) -> None:
        """``python`` and ``env`` let a test run the operator as bundled mode does."""
        self.cluster, self.workdir = cluster, workdir
        self.port = free_port()
        self.log_path = workdir / f"operator-{self.port}.log"
        self.args = [
            *python, "-m", "agentic_operator",
            "--namespace", namespace,
            "--opa-url", opa_url,
            "--http-port", str(self.port),
            "--resync-seconds", "30",
            "--log-format", "text",
        ]  # fmt: skip
        self.env = {
            **os.environ,
            "KUBECONFIG": str(cluster.kubeconfig(workdir / "kubeconfig", namespace=namespace)),
            "AGENTIC_OPA_TIMEOUT_SECONDS": "0.5",
            "AGENTIC_API_TIMEOUT_SECONDS": "1",
            **settings.environment(
                {"default_agent_image": SETTINGS.default_agent_image, "default_bucket": SETTINGS.default_bucket}
            ),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> OperatorProcess:
        emulated = self.cluster if isinstance(self.cluster, Cluster) else None
        watches = emulated.open_watches if emulated else 0
        with self.log_path.open("ab") as log:  # a file, never an unread pipe
            self._proc = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + 30
        while not self._ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the operator did not become ready in 30 s:\n{self.log()[-3000:]}")
            time.sleep(0.05)
        if emulated:
            # Ready means started; the first list of both watched resources follows at once.
            # (requests are logged when they end, so a live watch shows in open_watches)
            emulated.wait_for(lambda: emulated.open_watches >= watches + 2, timeout=10)
        return self

    def _ready(self) -> bool:
        assert self._proc is not None and self._proc.poll() is None, f"operator exited:\n{self.log()}"
        try:
            return self.get("/readyz")[0] == 200
        except OSError:
            return False

    def get(self, path: str) -> tuple[int, str]:
        """An HTTP GET of the operator's own endpoint: status and body."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as response:
            return int(response.status), response.read().decode()

    def metrics(self) -> str:
        return self.get("/metrics")[1]

    def pause(self) -> None:
        """Freeze the process (SIGSTOP): its connections stay open but nothing is read."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGCONT)

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self, *, kill: bool = False) -> None:
        if self._proc is None:
            return
        stop(self._proc, kill=kill)
        self._proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> OperatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ArgoPlayer:
    """Argo's controller, played step by step over the emulated API."""

    def __init__(self, cluster: Cluster, namespace: str = "team-a") -> None:
        self.cluster, self.namespace = cluster, namespace

    def step(self, name: str, **kwargs: Any) -> bool:
        """One controller pass over one Workflow, stamped now; False when it has to wait."""
        kwargs.setdefault("at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        for _ in range(5):
            workflow = self.cluster.get("workflows", self.namespace, name)
            nxt = argo_sim.advance(workflow, **kwargs)
            if nxt is None:
                return False
            try:
                self.cluster.patch("workflows", self.namespace, name, nxt)
                return True
            except ApiException as exc:
                if exc.status != 409:  # someone (the operator) wrote in between: read again
                    raise
        raise AssertionError(f"Workflow {name} kept conflicting")

    def run(self, name: str, **kwargs: Any) -> dict[str, Any]:
        """Advance until the controller must wait (the gate) or the Workflow is done."""
        while self.step(name, **kwargs):
            pass
        return self.cluster.get("workflows", self.namespace, name)
