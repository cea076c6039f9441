"""One MinIO user per workload namespace, allowed only its own prefix: pure builders.

Artifact keys start with the workload's namespace (``<namespace>/<job-id>/<step>/...``,
``agentic_contract.pipeline.ARTIFACT_PREFIX``), and each workload namespace's artifact
Secret holds the keys of a MinIO user of its own whose policy allows objects under
``<namespace>/`` only, in the buckets the stack allows (the policy data's
``allowed_buckets``; none listed means any bucket). So a team's Workflows, and the
agent if it ever read the Secret, cannot read or overwrite another team's artifacts.

What Argo needs of its artifact user: ``s3:PutObject`` (minio-go uploads large files in
parts, which ``s3:PutObject`` covers, ``s3:AbortMultipartUpload`` and
``s3:ListMultipartUploadParts`` besides), ``s3:GetObject`` for input artifacts,
``s3:ListBucket`` under the prefix (it lists ``<key>/`` to tell a directory artifact),
and ``s3:GetBucketLocation`` (minio-go asks a bucket's region first). No delete:
a Workflow cannot erase what another run of its namespace left.

Ref: https://min.io/docs/minio/linux/administration/identity-access-management/policy-based-access-control.html
Ref: https://docs.min.io/community/minio-object-store/reference/minio-mc-admin/mc-admin-policy-create.html
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

# mc admin policy create: "a JSON-formatted file ... no more than 2048 characters".
MAX_POLICY_CHARS = 2048
POLICY_PREFIX = "agentic-"  # MinIO policy agentic-<namespace>
OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts")


def policy_name(namespace: str) -> str:
    return f"{POLICY_PREFIX}{namespace}"


def tenant_policy(namespace: str, buckets: Sequence[str]) -> dict[str, Any]:
    """The IAM policy of a namespace's user: its prefix, in ``buckets`` (empty: any bucket)."""
    names = list(buckets) or ["*"]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnPrefix",
                "Effect": "Allow",
                "Action": list(OBJECT_ACTIONS),
                "Resource": [f"arn:aws:s3:::{b}/{namespace}/*" for b in names],
            },
            {
                "Sid": "ListOwnPrefix",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{b}" for b in names],
                "Condition": {"StringLike": {"s3:prefix": [f"{namespace}/*"]}},
            },
            {
                "Sid": "BucketLocation",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation"],
                "Resource": [f"arn:aws:s3:::{b}" for b in names],
            },
        ],
    }


def policy_document(namespace: str, buckets: Sequence[str]) -> str:
    """The policy as the compact JSON file ``mc admin policy create`` reads."""
    return json.dumps(tenant_policy(namespace, buckets), separators=(",", ":"), sort_keys=True)


def policy_size_errors(namespaces: Sequence[str], buckets: Sequence[str]) -> list[str]:
    """Namespaces whose policy would exceed MinIO's size limit with these buckets."""
    return [
        f"{ns}: its MinIO policy would be {size} characters, over MinIO's {MAX_POLICY_CHARS}: allow fewer buckets"
        for ns in namespaces
        if (size := len(policy_document(ns, buckets))) > MAX_POLICY_CHARS
    ]


def mc_config(url: str, access_key: str, secret_key: str, alias: str = "platform") -> str:
    """``mc``'s config.json (version 10) with one alias: credentials as data, never argv."""
    entry = {"url": url, "accessKey": access_key, "secretKey": secret_key, "api": "S3v4", "path": "auto"}
    return json.dumps({"version": "10", "aliases": {alias: entry}}, indent=2)
