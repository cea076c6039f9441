"""Where the tests find the real systems that `make tools` builds (hack/tools.sh).

A missing tool is a failure with the command that builds it, never a skip: CI must not
pass by running less.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "hack" / "tools.sh"


@cache
def bin_dir() -> Path:
    """``$AGENTIC_TOOLS_BIN``, else the folder hack/tools.sh links the current builds into."""
    if configured := os.environ.get("AGENTIC_TOOLS_BIN"):
        return Path(configured)
    return Path(subprocess.run([str(SCRIPT), "bin"], check=True, capture_output=True, text=True).stdout.strip())


class MissingTool(AssertionError):
    """A tool the test needs is not built."""


def tool(name: str) -> Path:
    """The path of a built command (``kube-apiserver``, ``opa``, ...)."""
    path = bin_dir() / name
    if not path.exists():
        raise MissingTool(f"{name} is not built in {bin_dir()}: run `make tools` (hack/tools.sh build)")
    return path.resolve()


def pulumi_home() -> Path:
    """The PULUMI_HOME where `make tools` installed the providers it built."""
    home = bin_dir().parent / "pulumi-home"
    if not any((home / "plugins").glob("resource-kubernetes-*")):
        raise MissingTool(f"no Kubernetes provider in {home}: run `make tools` (hack/tools.sh build)")
    return home


def argo_crds() -> list[Path]:
    """Argo's CRDs from the same module as the controller that `make tools` built."""
    folder = bin_dir().parent / "argo-crds"
    files = sorted(folder.glob("argoproj.io_*.yaml"))
    if not files:
        raise MissingTool(f"Argo's CRDs are not in {folder}: run `make tools` (hack/tools.sh build argo)")
    return files
