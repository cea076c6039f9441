"""Would the admission policy deny the platform's own defaults? Checked before `pulumi up`.

A workload that names neither an agent image nor a bucket gets the platform's defaults
(``template.agentImage``, ``minio.bucket``); if the admission policy denies those, it
denies every such workload. `pulumi preview` has no OPA to ask, so this module reads the
same policy data (``agentic.config`` with ``policy.data`` merged) and applies the two
rules of ``policies/admission.rego`` that judge them: the image's repository under an
``allowed_registries`` prefix (Docker Hub's implicit names spelled out first), and the
bucket against ``bucket_pattern`` and ``allowed_buckets``. The rules are mirrored, not
shared: tests/infra/test_admission_defaults.py runs the same cases through the real OPA
and fails when the two disagree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agentic_operator import api


def _show(value: str) -> str:
    return json.dumps(value)  # as the policy's messages quote values (lib.show)


def repository(image: str) -> str:
    """The repository an image names, without tag or digest, with Docker's implicit
    registry spelled out (``nginx:1`` -> ``docker.io/library/nginx``), as the policy does."""
    parts = image.split("@")[0].split("/")
    parts[-1] = parts[-1].split(":")[0]
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        path = parts
    elif len(parts) > 1:
        path = ["docker.io", *parts]
    else:
        path = ["docker.io", "library", *parts]
    return "/".join(path).lower()


def image_allowed(image: str, allowed_registries: list[str]) -> bool:
    name = repository(image)
    for prefix in allowed_registries:
        prefix = prefix.rstrip("/").lower()
        if name == prefix or name.startswith(prefix + "/"):
            return True
    return False


def bucket_problem(bucket: str, pattern: str, allowed: list[str]) -> str | None:
    if not api.python_pattern(pattern).search(bucket):  # Rego's regex.match: a search
        return f"bucket {_show(bucket)} does not match bucket_pattern {pattern}"
    if allowed and bucket not in allowed:
        return f"bucket {_show(bucket)} is not in allowed_buckets"
    return None


def denied(config: Mapping[str, Any], *, agent_image: str, bucket: str) -> dict[str, str]:
    """What the policy would deny of the defaults: {"image" | "bucket": why}."""
    problems: dict[str, str] = {}
    registries = list(config.get("allowed_registries") or [])
    if not image_allowed(agent_image, registries):
        problems["image"] = f"image {_show(agent_image)} is not from an allowed registry ({', '.join(registries)})"
    why = bucket_problem(bucket, str(config.get("bucket_pattern", "")), list(config.get("allowed_buckets") or []))
    if why:
        problems["bucket"] = why
    return problems
