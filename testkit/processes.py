"""Child processes the tests start (the operator, OPA): free loopback ports, clean stops."""

from __future__ import annotations

import socket
import subprocess


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
