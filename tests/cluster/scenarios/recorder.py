"""What Argo's controller wrote at each stage, against the committed recordings.

testkit/argo_fixtures/<stage>.yaml are Workflows Argo's own controller wrote in these
scenarios (normalized by :func:`testkit.argo_sim.normalized`); testkit/argo_sim.py replays
them for the unit tests. Every run of the tier compares what the controller writes now
with them, times and durations aside, so a change in Argo (a new pin, a new template)
fails here until they are recorded again::

    make argo-fixtures        # AGENTIC_RECORD_ARGO=1 pytest tests/cluster/scenarios -k recorded
"""

from __future__ import annotations

import difflib
import os
import subprocess
from collections.abc import Mapping
from typing import Any

import yaml

from testkit import argo_sim
from testkit.tools import SCRIPT

RECORD = os.environ.get("AGENTIC_RECORD_ARGO") == "1"


def argo_version() -> str:
    """The controller's pin, as hack/tools.sh lists it (its one home)."""
    listing = subprocess.run([str(SCRIPT), "list"], capture_output=True, text=True, check=True).stdout
    return next(line.split()[1] for line in listing.splitlines() if line.split()[:1] == ["argo"])


HEADER = """\
# Recorded from Argo {version}'s workflow-controller by tests/cluster/scenarios ({test}),
# stage {stage!r}; normalized by testkit.argo_sim.normalized. Do not edit: `make argo-fixtures`.
"""


def _dump(obj: Any) -> str:
    return str(yaml.safe_dump(obj, sort_keys=True, width=120))


def stage(stage: str, workflow: Mapping[str, Any] | None, *, test: str) -> None:
    """Record (``AGENTIC_RECORD_ARGO=1``) or check the Workflow at ``stage``."""
    assert workflow is not None, f"no Workflow to record at {stage}"
    name = workflow["metadata"]["name"]
    fixture = argo_sim.normalized(workflow, name)
    path = argo_sim.FIXTURES / f"{stage}.yaml"
    if RECORD:
        path.parent.mkdir(exist_ok=True)
        path.write_text(HEADER.format(version=argo_version(), test=test, stage=stage) + _dump(fixture))
        return
    assert path.exists(), f"{path} is not recorded: run `make argo-fixtures`"
    now, then = _dump(argo_sim.shape(fixture)), _dump(argo_sim.shape(argo_sim.recorded(stage)))
    if now != then:
        diff = "".join(difflib.unified_diff(then.splitlines(True), now.splitlines(True), "recorded", "now", n=2))
        raise AssertionError(
            f"Argo's controller wrote another shape at {stage!r} (`make argo-fixtures`):\n{diff[:6000]}"
        )
