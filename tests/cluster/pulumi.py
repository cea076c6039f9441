"""The real Pulumi CLI on a copy of this project, for the cluster tier.

``Project`` copies what a checkout holds (Pulumi.yaml, the stack files, the program, its
packages and policies) into a work folder, with the repository's ``.venv`` linked in, so
``pulumi config set`` writes the copy's stack file and never the work tree. Every command
runs the CLI that `make tools` built, with the providers of its PULUMI_HOME, a file state
backend in the work folder and a passphrase secrets provider: nothing is downloaded
(``PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION``), no update check, no ambient plugins,
and no ``KUBECONFIG``: the stack config alone says where resources go.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from testkit.tools import ROOT, pulumi_home, tool

# What a checkout of the project holds that `pulumi` reads or runs (the Makefile, hack/ and
# .github/ for the CI steps the tier runs: `make venv`, hack/ci/point-stack.sh).
PROJECT_FILES = (
    "Pulumi.yaml",
    "Pulumi.dev.yaml",
    "Pulumi.prod.yaml",
    "__main__.py",
    "requirements.txt",
    "requirements.lock",
    "Makefile",
)
PROJECT_DIRS = ("components", "operator", "agent", "contract", "policies", "crossguard", "hack", ".github")
PASSPHRASE = "cluster-tier-passphrase"


class PulumiFailed(AssertionError):
    pass


class Project:
    def __init__(self, workdir: Path, *, stack: str = "dev") -> None:
        self.dir = workdir / "project"
        self.stack = stack
        self.state = workdir / "state"
        self.log = workdir / "pulumi.log"
        ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".*_cache")
        for name in PROJECT_DIRS:
            if (ROOT / name).is_dir():
                shutil.copytree(ROOT / name, self.dir / name, ignore=ignore)
        for name in PROJECT_FILES:
            if (ROOT / name).exists():
                shutil.copy2(ROOT / name, self.dir / name)
        (self.dir / ".venv").symlink_to(ROOT / ".venv")
        self.state.mkdir(parents=True)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "KUBECONFIG"))},
            "PATH": f"{tool('pulumi').parent}:{os.environ['PATH']}",
            "PULUMI_HOME": str(pulumi_home()),
            "PULUMI_BACKEND_URL": f"file://{self.state}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
            "PULUMI_SKIP_CONFIRMATIONS": "true",
            "NO_COLOR": "1",
        }

    def run(self, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """``pulumi <args> --stack <stack> --non-interactive``; output kept in the log too."""
        command = [str(tool("pulumi")), *args, "--stack", self.stack, "--non-interactive"]
        done = subprocess.run(
            command, cwd=self.dir, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        with self.log.open("a") as log:
            log.write(f"$ pulumi {' '.join(args)}  (exit {done.returncode})\n{done.stdout}\n{done.stderr}\n")
        if check and done.returncode:
            raise PulumiFailed(
                f"pulumi {' '.join(args)} exited {done.returncode}:\n{done.stdout[-6000:]}\n{done.stderr[-4000:]}"
            )
        return done

    def init(self) -> None:
        subprocess.run(
            [str(tool("pulumi")), "stack", "init", self.stack, "--non-interactive"],
            cwd=self.dir, env=self.env, check=True, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    def config(self, key: str, value: str, *, path: bool = False, secret: bool = False) -> None:
        flags = [*(["--path"] if path else []), *(["--secret"] if secret else [])]
        self.run("config", "set", *flags, key, value)

    def outputs(self) -> dict[str, Any]:
        return dict(json.loads(self.run("stack", "output", "--json", "--show-secrets").stdout))

    def export(self) -> dict[str, Any]:
        return dict(json.loads(self.run("stack", "export").stdout))

    def resources(self) -> list[dict[str, Any]]:
        """The state's resources (``pulumi stack export``)."""
        return list(self.export()["deployment"].get("resources") or [])

    def steps(self, *args: str) -> list[dict[str, Any]]:
        """The steps of ``pulumi preview --json <args>`` (op and urn of each)."""
        done = self.run("preview", "--json", *args)
        return list(json.loads(done.stdout).get("steps") or [])
