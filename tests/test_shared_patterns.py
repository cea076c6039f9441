"""Every copy of a shared pattern agrees: the CRD, validate(), the stack config, the policy data.

The patterns are defined once in ``agentic_operator.api``; the CRD carries them to the API
server (RE2), ``validate()`` and ``components.config`` read them with Python's ``re``, and
``policies/data.json`` hands the bucket rule to OPA (RE2 again). A sample table runs through
each reader, so a copy that drifts, or a pattern two engines read differently, fails here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from agentic_operator import api
from agentic_operator.decision import ADMISSION
from agentic_operator.settings import TABLE
from components import bundle, config
from testkit.factories import workload
from testkit.opa import BlockingClient, OpaServer
from tests.policy.cases import admission_input

SHARED = {
    "BUCKET_PATTERN": api.BUCKET_PATTERN,
    "DNS_LABEL_PATTERN": api.DNS_LABEL_PATTERN,
    "IMAGE_PATTERN": api.IMAGE_PATTERN,
    "URL_PATTERN": api.URL_PATTERN,
}
BUCKETS = {
    "agentic-artifacts": True,
    "abc": True,
    "a" * 63: True,
    "team-a-results-2": True,
    "ab": False,
    "a" * 64: False,
    "team.results": False,  # the bug: passed the stack config and the CRD, then every default was denied
    "a..b": False,
    "-lead": False,
    "trail-": False,
    "Upper": False,
    "under_score": False,
    "abc-def\n": False,  # Python's $ matches before a trailing newline; RE2's does not
}


def _patterns(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern":
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _patterns(item)


def _spec_schema() -> dict[str, Any]:
    schema: dict[str, Any] = api.crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return schema


@pytest.fixture(scope="module")
def policy(opa: OpaServer) -> BlockingClient:
    """The real OPA, as the sidecar serves policies/."""
    return opa.client()


def test_the_policy_data_has_the_api_bucket_pattern() -> None:
    data = json.loads((bundle.POLICY_DIR / bundle.DATA_FILE).read_text())
    assert bundle.config_section(data)["bucket_pattern"] == api.BUCKET_PATTERN  # type: ignore[index]


def test_the_crd_carries_the_api_patterns() -> None:
    props = _spec_schema()["properties"]
    assert props["minioBucket"]["pattern"] == api.BUCKET_PATTERN
    assert props["agentImage"]["pattern"] == api.IMAGE_PATTERN
    assert props["targetUrls"]["items"]["pattern"] == api.URL_PATTERN
    assert props["jobId"]["pattern"] == api.JOB_ID_PATTERN == api.DNS_LABEL_PATTERN


def test_shared_patterns_use_only_what_re2_and_python_read_alike() -> None:
    """python_pattern() refuses what the engines read differently (agentic_operator.re2), and
    every shared pattern is anchored at both ends (the API server searches, as re does)."""
    for name, pattern in [*SHARED.items(), *(("crd", p) for p in _patterns(_spec_schema()))]:
        api.python_pattern(pattern)
        assert pattern.startswith("^") and pattern.endswith("$"), (name, pattern)


@pytest.mark.parametrize(("bucket", "valid"), BUCKETS.items())
def test_every_bucket_check_agrees(policy: BlockingClient, bucket: str, valid: bool) -> None:
    """The stack config, validate() and the admission policy (RE2) take the same buckets."""
    assert (config.FIELDS["minio.bucket"].check(bucket) is None) == valid  # type: ignore[misc]
    assert (api.validate(workload(minioBucket=bucket)) == []) == valid
    reasons = policy.evaluate(ADMISSION, admission_input(minioBucket=bucket)).reasons
    assert (not any("bucket_pattern" in r for r in reasons)) == valid, reasons


@pytest.mark.parametrize(
    ("image", "valid"),
    [
        ("ghcr.io/agentic-dev/agent:0.1.0", True),
        ("registry.example.com:5000/team/agent@sha256:" + "a" * 64, True),
        ("Not An Image", False),
        ("ghcr.io/agentic-dev/agent:0.1.0\n", False),
    ],
)
def test_image_checks_agree(image: str, valid: bool) -> None:
    """A pinned image the stack config accepts is one the CRD and validate() accept."""
    assert (api.validate(workload(agentImage=image)) == []) == valid
    assert (config.FIELDS["template.agentImage"].check(image) is None) == valid  # type: ignore[misc]


@pytest.mark.parametrize(
    ("namespace", "valid"), [("team-a", True), ("a" * 63, True), ("a" * 64, False), ("Team", False), ("-a", False)]
)
def test_namespace_checks_agree(namespace: str, valid: bool) -> None:
    """The stack config and the operator's AGENTIC_NAMESPACES read a namespace alike."""
    (namespaces,) = [s for s in TABLE if s.name == "namespaces"]
    assert (config.FIELDS["namespace"].check(namespace) is None) == valid  # type: ignore[misc]
    try:
        namespaces.parse(namespace)
        parsed = True
    except ValueError:
        parsed = False
    assert parsed == valid
