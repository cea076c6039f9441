"""The stack-config check of the platform defaults says what the real OPA says of them.

components/admission_defaults.py mirrors the two admission rules that judge a workload's
defaults (agent image registry, bucket); these cases go through both, so a change to one
that the other does not follow fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from agentic_operator import api, reconcile
from agentic_operator.decision import ADMISSION
from agentic_operator.settings import Settings
from components import admission_defaults, bundle
from testkit.opa import OpaFor

IMAGES = [
    "python:3.11.16-slim",
    "docker.io/library/python:3.11.16-slim",
    "docker.io/library/python@sha256:" + "a" * 64,
    "ghcr.io/agentic-dev/agent:1.0.0",
    "GHCR.io/agentic-dev/agent:1.0.0",
    "ghcr.io/agentic-dev-evil/agent:1.0.0",
    "ghcr.io/agentic-dev:1.0.0",
    "docker.io/me/agent:1.0.0",
    "me/agent:1.0.0",
    "localhost/agent:1.0.0",
    "localhost:5000/agentic-dev/agent:1.0.0",
    "registry.example.com/ghcr.io/agentic-dev/agent:1.0.0",
    "pythonic:3.11.16",
    "library/python:3.11.16",
]
BUCKETS = ["agentic-artifacts", "team-a", "ab", "a.b.c", "-leading", "UPPER", "x" * 64, "other-bucket"]
OVERRIDES: list[dict[str, Any]] = [
    {},
    {"allowed_buckets": ["agentic-artifacts"]},
    {"allowed_registries": ["docker.io/me", "localhost:5000"]},
]


@pytest.mark.parametrize("overrides", OVERRIDES, ids=["shipped", "one-bucket", "other-registries"])
def test_the_mirror_and_opa_agree_on_every_default(opa_for: OpaFor, overrides: dict[str, Any]) -> None:
    """Same verdict, image by image and bucket by bucket, for three policy data sets."""
    client = opa_for(overrides).client()
    config = bundle.config_section(
        bundle.deep_merge(bundle.policy_data(bundle.POLICY_DIR) or {}, {"agentic": {"config": overrides}})
    )
    assert config is not None
    workload = {
        "metadata": {"name": "defaults", "namespace": "team-a"},
        "spec": {"targetUrls": ["https://example.com/"], "objective": "-"},
    }
    spec = api.parse(workload)
    disagreements = []
    for image in IMAGES:
        for bucket in BUCKETS:
            settings = Settings(default_agent_image=image, default_bucket=bucket)
            reasons = client.evaluate(ADMISSION, reconcile.admission_input(workload, spec, settings)).reasons
            opa = {
                "image": any(r.startswith("settings.defaultAgentImage:") for r in reasons),
                "bucket": any(r.startswith("settings.defaultBucket:") for r in reasons),
            }
            mirror = admission_defaults.denied(config, agent_image=image, bucket=bucket)
            if opa != {"image": "image" in mirror, "bucket": "bucket" in mirror}:
                disagreements.append((image, bucket, opa, mirror))
    assert not disagreements


def test_docker_hub_short_names_are_spelled_out() -> None:
    assert admission_defaults.repository("python:3.11") == "docker.io/library/python"
    assert admission_defaults.repository("me/agent:1") == "docker.io/me/agent"
    assert admission_defaults.repository("localhost:5000/a/b@sha256:00") == "localhost:5000/a/b"
