"""Child processes the tests start (the operator, OPA): free loopback ports, clean stops."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stop(process: subprocess.Popen[bytes], *, kill: bool = False, grace: float = 15.0) -> None:
    """Terminate (or kill) ``process`` and reap it; killed if it outlives ``grace`` seconds."""
    if kill:
        process.kill()
    else:
        process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time process ``pid`` has used so far (Linux /proc, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
