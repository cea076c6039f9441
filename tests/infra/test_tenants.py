"""One MinIO user per workload namespace, allowed only its own prefix (components/tenants.py).

The documents are parsed and evaluated by MinIO's own policy package
(``github.com/minio/pkg/v3/policy``, what the MinIO server evaluates user policies with),
built by ``make tools`` as ``minio-policy`` (hack/tools/minio-policy). No MinIO server or
``mc`` can be built here (the Go module proxy refuses their RELEASE versions), so what a
running server does with a request before it asks the policy (how it derives the action
and the ``prefix`` condition from an S3 call) is taken from MinIO's documentation, not run.
"""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from components import minio, tenants
from components.config import ConfigError
from testkit.tools import tool
from tests.infra.conftest import dev_config, run_main
from tests.infra.harness import Harness, Run

BUCKETS = ["agentic-artifacts"]


def evaluate(policy: dict[str, Any], requests: list[dict[str, Any]]) -> list[bool]:
    """MinIO's verdict on each request (``policy.Args`` in JSON: action, bucket, object, conditions)."""
    done = subprocess.run(
        [str(tool("minio-policy"))],
        input=json.dumps({"policy": policy, "requests": requests}),
        capture_output=True,
        text=True,
        timeout=30,
    )
    answer = json.loads(done.stdout)
    assert done.returncode == 0, answer
    verdicts: list[bool] = answer["allowed"]
    return verdicts


def allowed(policy: dict[str, Any], action: str, path: str, prefix: str | None = None) -> bool:
    """Whether the user may ``action`` on ``bucket[/object]``, listing under ``prefix``."""
    bucket, _, obj = path.partition("/")
    request: dict[str, Any] = {"action": action, "bucket": bucket, "object": obj}
    if prefix is not None:
        request["conditions"] = {"prefix": [prefix]}
    return evaluate(policy, [request])[0]


def test_minio_accepts_the_documents_and_refuses_a_malformed_one() -> None:
    """ParseConfig is MinIO's own check: every action named is one MinIO knows, no unknown field."""
    assert evaluate(tenants.tenant_policy("team-a", BUCKETS), []) == []
    broken = tenants.tenant_policy("team-a", BUCKETS)
    broken["Statement"][0]["Action"].append("s3:GetObjects")
    done = subprocess.run(
        [str(tool("minio-policy"))],
        input=json.dumps({"policy": broken, "requests": []}),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "error" in json.loads(done.stdout)


@pytest.mark.parametrize("action", ["s3:GetObject", "s3:PutObject"])
def test_a_team_reads_and_writes_its_own_prefix_only(action: str) -> None:
    policy = tenants.tenant_policy("team-a", BUCKETS)
    assert allowed(policy, action, "agentic-artifacts/team-a/pricing/scraper/pages.tgz")
    assert not allowed(policy, action, "agentic-artifacts/team-b/pricing/scraper/pages.tgz")
    assert not allowed(policy, action, "agentic-artifacts/team-ab/pricing/x")  # a longer name is another team
    assert not allowed(policy, action, "agentic-artifacts/team-a")  # the prefix itself is no object of it
    assert not allowed(policy, action, "other-bucket/team-a/pricing/x")  # only allowed buckets


def test_a_team_lists_only_under_its_prefix() -> None:
    """Argo lists ``<key>/`` to tell a directory artifact from a file."""
    policy = tenants.tenant_policy("team-a", BUCKETS)
    assert allowed(policy, "s3:ListBucket", "agentic-artifacts", prefix="team-a/pricing/scraper/pages.tgz/")
    assert not allowed(policy, "s3:ListBucket", "agentic-artifacts", prefix="team-b/")
    assert not allowed(policy, "s3:ListBucket", "agentic-artifacts", prefix="")
    assert not allowed(policy, "s3:ListBucket", "agentic-artifacts")


def test_no_deletes_no_bucket_administration() -> None:
    policy = tenants.tenant_policy("team-a", BUCKETS)
    for action in ("s3:DeleteObject", "s3:DeleteBucket", "s3:CreateBucket", "s3:PutBucketPolicy", "admin:*"):
        assert not allowed(policy, action, "agentic-artifacts/team-a/x")
        assert not allowed(policy, action, "agentic-artifacts")
    assert allowed(policy, "s3:GetBucketLocation", "agentic-artifacts")  # minio-go asks the region first


def test_with_no_bucket_list_the_prefix_holds_in_every_bucket() -> None:
    """allowed_buckets: [] admits any bucket; the namespace's prefix still binds."""
    policy = tenants.tenant_policy("team-a", [])
    assert allowed(policy, "s3:PutObject", "anything/team-a/x")
    assert not allowed(policy, "s3:PutObject", "anything/team-b/x")


def test_each_namespace_gets_its_policy_in_the_config_map(dev_stack: Run) -> None:
    data = dev_stack.one("kubernetes:core/v1:ConfigMap", minio.TENANT_POLICIES).manifest["data"]
    assert data == {f"{ns}.json": tenants.policy_document(ns, BUCKETS) for ns in ("team-a", "team-b")}
    assert json.loads(data["team-a.json"]) == tenants.tenant_policy("team-a", BUCKETS)


def test_listed_buckets_are_created_and_granted() -> None:
    run = run_main(Harness({**dev_config(), "policy.data": {"allowed_buckets": ["agentic-artifacts", "reports"]}}))
    data = run.one("kubernetes:core/v1:ConfigMap", minio.TENANT_POLICIES).manifest["data"]
    assert allowed(json.loads(data["team-b.json"]), "s3:PutObject", "reports/team-b/x")
    (container,) = run.one("kubernetes:batch/v1:Job", minio.BUCKET_JOB).manifest["spec"]["template"]["spec"][
        "containers"
    ]
    assert {"name": "BUCKETS", "value": "agentic-artifacts reports"} in container["env"]


@pytest.mark.parametrize(
    ("buckets", "problem"),
    [
        (["agentic-artifacts", "Bad_Bucket"], "allowed_buckets: 'Bad_Bucket' is not a valid bucket name"),
        (["agentic-artifacts", *(f"bucket-{i:02d}-" + "x" * 50 for i in range(40))], "over MinIO's 2048"),
    ],
)
def test_allowed_buckets_the_job_could_not_create_or_grant_stop_the_program(buckets: list[str], problem: str) -> None:
    harness = Harness({**dev_config(), "policy.data": {"allowed_buckets": buckets}})
    with pytest.raises(ConfigError) as error:
        run_main(harness)
    assert re.search(rf"agentic-platform:policy\.data: .*{re.escape(problem)}", str(error.value)), error.value
    assert harness.registered == []
