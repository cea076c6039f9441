"""Run the agent's steps the way the rendered WorkflowTemplate declares them, on this machine.

:class:`TemplateRun` reads each agent step of ``components.template.workflow_template``:
its container's command and environment (``{{inputs.parameters.x}}`` filled in, the
platform's URLs pointed at local peers), its input artifacts (copied from the producing
task's declared output, as Argo's ``from`` does) and its declared outputs. Every path
the template names is rebased under a local root, so ``/tmp/outputs/parameters/x``
becomes ``<root>/<step>/tmp/outputs/parameters/x``: one root per step, as each step is
its own pod. The step runs as ``python -m agentic_agent <step>``, a real process.

Bundled mode runs the ``bin/agent`` launcher of the source ConfigMap laid out on disk
(:func:`lay_out`), so the agent imports the bundle's modules, not the installed package.

The contract test (tests/agent) and ``make demo`` both use it, so the demo runs what the cluster would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentic_contract import pipeline
from components import bundle
from components.bundle import Bundle

_INPUT_REF = re.compile(r"^\{\{inputs\.parameters\.([\w-]+)\}\}$")
_FROM = re.compile(r"^\{\{tasks\.([\w-]+)\.outputs\.artifacts\.([\w-]+)\}\}$")


@dataclass
class StepResult:
    step: str
    code: int
    root: Path
    stderr: str
    parameters: dict[str, str]
    reason: str


class TemplateRun:
    """One Workflow's agent steps, run locally from the template's own declarations."""

    def __init__(
        self,
        manifest: dict[str, Any],
        root: Path,
        arguments: dict[str, str],
        platform: dict[str, str],
        policy_data: Path,
        launcher: Path | None = None,
    ) -> None:
        self.templates = {t["name"]: t for t in manifest["spec"]["templates"]}
        self.tasks = {t["name"]: t for t in self.templates[pipeline.ENTRYPOINT]["dag"]["tasks"]}
        self.root = root
        self.arguments = arguments  # workflow parameters
        self.platform = platform  # platform variable -> local value (URLs of the peers, secrets)
        self.policy_data = policy_data
        self.launcher = launcher  # bundled mode's bin/agent, laid out from the ConfigMap

    def local(self, step: str, path: str) -> Path:
        """A path the template names, inside this step's pod root."""
        if path == pipeline.POLICY_DATA_PATH:
            return self.policy_data
        return self.root / step / path.lstrip("/")

    def declared_outputs(self, step: str) -> tuple[list[str], list[str]]:
        """The (artifact paths, parameter paths) the template declares for ``step``."""
        outputs = self.templates[step]["outputs"]
        artifacts = [a["path"] for a in outputs.get("artifacts", [])]
        parameters = [p["valueFrom"]["path"] for p in outputs.get("parameters", [])]
        return artifacts, parameters

    def _environment(self, step: str) -> dict[str, str]:
        task = self.tasks[step]
        given = {p["name"]: self._resolve(p["value"]) for p in task["arguments"]["parameters"]}
        env: dict[str, str] = {}
        for var in self.templates[step]["container"]["env"]:
            name = var["name"]
            if name in self.platform:
                env[name] = self.platform[name]
            elif "valueFrom" in var:
                continue  # an optional secretKeyRef with no Secret here: unset, as in a pod
            elif match := _INPUT_REF.match(var["value"]):
                env[name] = given[match.group(1)]
            elif name == "PATH":
                continue  # bundled mode's PATH; here the venv's agent is on sys.path
            elif var["value"].startswith("/"):
                env[name] = str(self.local(step, var["value"]))
            else:
                env[name] = var["value"]
        return env

    def _resolve(self, value: str) -> str:
        match = re.fullmatch(r"\{\{workflow\.parameters\.([\w-]+)\}\}", value)
        return self.arguments[match.group(1)] if match else value

    def _stage_inputs(self, step: str) -> None:
        declared = {a["name"]: a["path"] for a in self.templates[step]["inputs"].get("artifacts", [])}
        for artifact in self.tasks[step]["arguments"].get("artifacts", []):
            match = _FROM.match(artifact["from"])
            assert match, artifact
            producer, name = match.groups()
            (source,) = [a["path"] for a in self.templates[producer]["outputs"]["artifacts"] if a["name"] == name]
            target = self.local(step, declared[artifact["name"]])
            shutil.copytree(self.local(producer, source), target)

    def run(self, step: str, extra_env: dict[str, str] | None = None) -> StepResult:
        self._stage_inputs(step)
        env = {**self._environment(step), **(extra_env or {})}
        env["AGENT_TERMINATION_LOG"] = str(self.root / step / "termination-log")
        command = self.templates[step]["container"]["command"]
        assert command == [pipeline.AGENT_COMMAND, step]
        entry = [str(self.launcher)] if self.launcher else ["-m", "agentic_agent"]
        process = subprocess.run(
            [sys.executable, *entry, *command[1:]],
            env={"PATH": os.environ.get("PATH", ""), **env},
            capture_output=True,
            text=True,
            timeout=300,
        )
        _, parameter_paths = self.declared_outputs(step)
        parameters = {}
        for path in parameter_paths:
            local = self.local(step, path)
            if local.exists():
                parameters[local.name] = local.read_text()
        log = self.root / step / "termination-log"
        return StepResult(
            step,
            process.returncode,
            self.root / step,
            process.stderr,
            parameters,
            log.read_text() if log.exists() else "",
        )


def workload_arguments(job_id: str, urls: list[str], objective: str) -> dict[str, str]:
    """The workflow parameters the operator supplies (``agentic_operator.argo.build_workflow``)."""
    return {
        pipeline.PARAM_JOB_ID: job_id,
        pipeline.PARAM_TARGET_URLS: json.dumps(urls),
        pipeline.PARAM_OBJECTIVE: objective,
    }


def lay_out(source: Bundle, directory: Path) -> Path:
    """A ConfigMap bundle as its volume puts it on disk (paths and modes); the launcher's path."""
    for item in source.items:
        path = directory / item["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source.data[item["key"]])
        path.chmod(item.get("mode", 0o644))
    return directory / bundle.AGENT_LAUNCHER
