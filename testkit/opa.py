"""The real OPA (`opa run --server`), loaded the way the operator's sidecar loads it.

What the sidecar gets (components/operator.py, components/bundle.py), reproduced here:

- the files: every non-test ``.rego`` of ``policies/`` and ``data.json`` with the stack's
  ``policy.data`` deep-merged over ``agentic.config`` (:func:`components.bundle.policies`);
- the layout of a ConfigMap volume: the files in a hidden ``..<timestamp>`` folder, a
  ``..data`` link to it, and one link per entry (``admission.rego -> ..data/admission.rego``);
- the flags (:func:`sidecar_args`; tests/infra/test_operator.py checks the Deployment
  renders the same), on free loopback ports instead of 8181/8282.

``OpaServer`` is a context manager: it waits for ``/health?plugins`` (the sidecar's
readiness probe) and stops the process on exit, so nothing outlives it. Also the way to
run the policies locally (a demo, a benchmark): ``with OpaServer() as opa: opa.url``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from agentic_operator.decision import Decision
from agentic_operator.policy import OpaClient
from components import bundle
from testkit.processes import free_port, stop
from testkit.tools import tool

# A stack's policy.data overrides -> the server loaded with them (tests/conftest.py's opa_for).
OpaFor = Callable[[Mapping[str, Any]], "OpaServer"]

# kubelet's AtomicWriter names the folder of each version of a volume's files like this.
_VERSION = "..2026_01_01_00_00_00.000000001"


def sidecar_args(policy_dir: str, addr: str, diagnostic_addr: str) -> list[str]:
    """The sidecar's ``opa`` arguments: the same flags as components/operator.py renders."""
    return [
        "run",
        "--server",
        f"--addr={addr}",
        f"--diagnostic-addr={diagnostic_addr}",
        "--ignore=.*",
        "--log-format=json",
        "--optimize-store-for-read-speed",
        policy_dir,
    ]


def configmap_volume(target: Path, files: bundle.Bundle) -> Path:
    """``files`` laid out in ``target`` as kubelet mounts a ConfigMap with those ``items``."""
    version = target / _VERSION
    version.mkdir(parents=True)
    for item in files.items:
        path = version / item["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files.data[item["key"]])
    (target / "..data").symlink_to(_VERSION)
    for entry in sorted({item["path"].split("/")[0] for item in files.items}):
        (target / entry).symlink_to(f"..data/{entry}")
    return target


class BlockingClient:
    """The operator's :class:`OpaClient` for callers without an event loop (tests, the
    demo): each query on a loop and a connection of its own."""

    def __init__(self, url: str, *, timeout: float = 2.0) -> None:
        self.url, self.timeout = url, timeout

    def evaluate(self, query: str, input: Mapping[str, Any]) -> Decision:
        async def ask() -> Decision:
            async with OpaClient(self.url, timeout=self.timeout) as client:
                return await client.evaluate(query, input)

        return asyncio.run(ask())


class OpaServer:
    """``opa run --server`` over the policies as the sidecar mounts them.

    ``overrides`` are a stack's ``policy.data`` (deep-merged over ``agentic.config``);
    ``workdir`` holds the volume and OPA's log (a temporary folder, removed on exit, if
    not given); ``port`` 0 picks a free one (and another, should something take it before
    OPA binds it).
    """

    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        *,
        workdir: Path | None = None,
        policy_dir: Path = bundle.POLICY_DIR,
        port: int = 0,
        timeout: float = 30.0,
    ) -> None:
        self.files = bundle.policies(policy_dir, overrides)
        self._own_workdir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="opa-")) if workdir is None else workdir
        self._fixed_port = port
        self._pick_ports()
        self.log_path = self.workdir / "opa.log"
        self.timeout = timeout
        self._proc: subprocess.Popen[bytes] | None = None

    def _pick_ports(self) -> None:
        self.port = self._fixed_port or free_port()
        self.diagnostic_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> OpaServer:
        volume = configmap_volume(self.workdir / "policies", self.files)
        for attempt in range(3):
            try:
                return self._run(volume)
            except RuntimeError:
                if attempt == 2 or "address already in use" not in self.log():
                    raise
                self._pick_ports()  # another process took a port between picking and binding
        raise AssertionError("unreachable")

    def _run(self, volume: Path) -> OpaServer:
        args = sidecar_args(str(volume), f"127.0.0.1:{self.port}", f"127.0.0.1:{self.diagnostic_port}")
        self.log_path.write_bytes(b"")
        with self.log_path.open("ab") as log:  # a file, never an unread pipe
            self._proc = subprocess.Popen([tool("opa"), *args], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.timeout
        while not self._ready():
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"OPA not ready within {self.timeout}s:\n{self.log()}")
            time.sleep(0.02)
        return self

    def _ready(self) -> bool:
        assert self._proc is not None
        if self._proc.poll() is not None:
            raise RuntimeError(f"opa exited with {self._proc.returncode}:\n{self.log()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.diagnostic_port}/health?plugins", timeout=1) as r:
                return int(r.status) == 200
        except (urllib.error.URLError, OSError):
            return False

    def client(self, timeout: float = 2.0) -> BlockingClient:
        return BlockingClient(self.url, timeout=timeout)

    def get(self, path: str) -> Any:
        """A GET of OPA's REST API (e.g. ``/v1/policies``), as JSON."""
        with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as response:
            return json.load(response)

    @property
    def pid(self) -> int:
        """The OPA process's id (for its CPU time: bench.policy_query)."""
        if self._proc is None:
            raise RuntimeError("OPA is not running")
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        if self._proc is None:
            return
        stop(self._proc)
        self._proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> OpaServer:
        try:
            return self.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def main() -> None:
    """Serve policies/ as the sidecar does, until interrupted (for running the operator locally)."""
    parser = argparse.ArgumentParser(prog="python -m testkit.opa", description=main.__doc__)
    parser.add_argument("--port", type=int, default=8181, help="REST API port on 127.0.0.1 [8181]")
    parser.add_argument("--data", type=json.loads, default={}, help="a stack's policy.data, as JSON")
    args = parser.parse_args()
    with OpaServer(args.data, port=args.port) as server:
        print(f"OPA serving policies/ at {server.url} (operator: --opa-url {server.url}); Ctrl-C stops it", flush=True)
        try:
            while server.alive():
                time.sleep(0.5)
            print(f"opa exited:\n{server.log()}", flush=True)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
