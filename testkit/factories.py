"""Small builders for test objects; each test states only what it is about."""

from __future__ import annotations

from typing import Any

from agentic_operator import api, argo
from agentic_operator.settings import Settings
from components import config

# The operator's settings as the platform's defaults make them.
SETTINGS = Settings(default_agent_image=config.DEFAULT_AGENT_IMAGE, default_bucket=config.DEFAULT_BUCKET)


def workload(
    name: str = "demo",
    namespace: str = "team-a",
    *,
    uid: str = "11111111-2222-3333-4444-555555555555",
    generation: int = 1,
    annotations: dict[str, str] | None = None,
    status: dict[str, Any] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """An AgentWorkload as the API server returns it (spec camelCase keys via **spec)."""
    body: dict[str, Any] = {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid,
            "generation": generation,
            "resourceVersion": "1",
            "annotations": dict(annotations or {}),
        },
        "spec": {"targetUrls": ["https://example.com/"], "objective": "Summarise the page", **spec},
    }
    if status is not None:
        body["status"] = status
    return body


def workflow(wl: dict[str, Any], settings: Settings = SETTINGS) -> dict[str, Any]:
    """The Workflow the operator builds for a (valid) workload."""
    return argo.build_workflow(wl, api.parse(wl), settings)
