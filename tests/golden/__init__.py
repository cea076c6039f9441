"""Rendered manifests committed as YAML, so a reviewer sees every change as a diff.

`make golden` (python -m tests.golden --write) rewrites them from the code; the test in
tests/test_golden.py fails while a committed file differs from what the code renders.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from agentic_operator import api
from components import config, template

HERE = Path(__file__).parent


def _visual_analysis_template() -> dict[str, Any]:
    """The WorkflowTemplate as the stack defaults render it (no template.agentImage: bundled agent)."""
    return template.workflow_template(config.template_settings(config.FIELDS["namespace"].default))


def _renderers() -> dict[str, Callable[[], Any]]:
    return {
        "agentworkloads.agentic.dev.yaml": api.crd,
        "visual-analysis-template.yaml": _visual_analysis_template,
    }


def render(name: str) -> str:
    return str(yaml.safe_dump(_renderers()[name](), sort_keys=True, width=100))


def names() -> list[str]:
    return sorted(_renderers())
