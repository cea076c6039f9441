"""Minio: pinned image, StatefulSet with a volume, probes, credentials, the bucket Job."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from components import minio, podspec, tenants
from tests.infra.harness import GENERATED_SECRET, Run, generated, is_secret
from tests.infra.k8s import pod_spec

STATEFULSET = "kubernetes:apps/v1:StatefulSet"
JOB = "kubernetes:batch/v1:Job"
SECRET = "kubernetes:core/v1:Secret"
TENANTS = ("team-a", "team-b")


def test_minio_runs_pinned_non_root_with_health_probes_and_a_volume(dev_stack: Run) -> None:
    statefulset = dev_stack.one(STATEFULSET, "minio").manifest
    assert statefulset["metadata"]["namespace"] == "agentic-system"
    spec = statefulset["spec"]
    assert (spec["replicas"], spec["serviceName"]) == (1, "minio")
    pod = pod_spec(dev_stack.one(STATEFULSET, "minio"))
    (container,) = pod["containers"]
    assert container["image"] == "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"
    assert container["args"][:2] == ["server", "/data"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/minio/health/ready", "port": 9000}
    assert container["livenessProbe"]["httpGet"] == {"path": "/minio/health/live", "port": 9000}
    assert pod["securityContext"]["runAsNonRoot"] is True
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"  # Pulumi.dev.yaml
    assert {"name": claim["metadata"]["name"], "mountPath": "/data"} in container["volumeMounts"]


def test_the_service_selects_the_minio_pods(dev_stack: Run) -> None:
    service = dev_stack.one("kubernetes:core/v1:Service", "minio").manifest["spec"]
    labels = dev_stack.one(STATEFULSET, "minio").manifest["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= labels.items()
    assert service["ports"] == [{"name": "api", "port": 9000, "targetPort": "api"}]


def test_credentials_are_generated_once_and_only_stored_as_secrets(dev_stack: Run) -> None:
    generators = dev_stack.of_type(GENERATED_SECRET)
    assert sorted(r.name.removeprefix("agentic-minio-") for r in generators) == [
        "root-password",
        "root-user",
        "team-a-access-key",
        "team-a-secret-key",
        "team-b-access-key",
        "team-b-secret-key",
    ]
    assert [r.manifest["length"] for r in sorted(generators, key=lambda r: r.name)] == [40, 16, 20, 40, 20, 40]
    secret = dev_stack.one(SECRET, minio.CREDENTIALS_SECRET)
    assert is_secret(secret.inputs["stringData"])
    data = secret.manifest["stringData"]
    assert (data[minio.ROOT_USER], data[minio.ROOT_PASSWORD]) == (
        generated("agentic-minio-root-user"),
        generated("agentic-minio-root-password"),
    )
    tenants_secret = dev_stack.one(SECRET, minio.TENANTS_SECRET)
    assert is_secret(tenants_secret.inputs["stringData"])
    assert tenants_secret.manifest["stringData"] == {
        f"{ns}.{kind}Key": generated(f"agentic-minio-{ns}-{kind}-key")
        for ns in TENANTS
        for kind in ("access", "secret")
    }


def test_mc_reads_the_root_alias_from_its_config_file(dev_stack: Run) -> None:
    """mc's config.json (version 10): the alias the script uses, the root user's keys."""
    config = json.loads(dev_stack.one(SECRET, minio.CREDENTIALS_SECRET).manifest["stringData"][minio.MC_CONFIG])
    assert config == {
        "version": "10",
        "aliases": {
            "platform": {
                "url": "http://minio.agentic-system.svc.cluster.local:9000",
                "accessKey": generated("agentic-minio-root-user"),
                "secretKey": generated("agentic-minio-root-password"),
                "api": "S3v4",
                "path": "auto",
            }
        },
    }


def test_the_bucket_job_runs_after_minio_with_credentials_only_as_files(dev_stack: Run) -> None:
    """Issue 11: the Job passed the artifact user's secret key in mc's argv."""
    job = dev_stack.one(JOB, "minio-bucket")
    for needed in (
        dev_stack.one(STATEFULSET, "minio"),
        dev_stack.one(SECRET, minio.CREDENTIALS_SECRET),
        dev_stack.one(SECRET, minio.TENANTS_SECRET),
        dev_stack.one("kubernetes:core/v1:ConfigMap", minio.TENANT_POLICIES),
    ):
        assert needed.urn in job.dependencies, needed.name
    pod = pod_spec(job)
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["image"] == "quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z"
    env = {e["name"]: e for e in container["env"]}
    assert all("valueFrom" not in e for e in env.values())  # no secret in the environment either
    assert (env["BUCKETS"]["value"], env["TENANTS"]["value"]) == ("agentic-artifacts", "team-a team-b")
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["client"]["secret"] == {
        "secretName": minio.CREDENTIALS_SECRET,
        "items": [{"key": minio.MC_CONFIG, "path": "config.json"}],
    }
    assert volumes["tenants"]["secret"] == {"secretName": minio.TENANTS_SECRET}
    assert volumes["policies"]["configMap"] == {"name": minio.TENANT_POLICIES}
    assert container["securityContext"] == podspec.container_security_context()


FAKE_MC = """#!/bin/sh
# Records each call's argv (one line) and, for `admin user add`, what it read on stdin.
printf '%s\\n' "$*" >> "$MC_LOG"
if [ "$1 $2 $3" = "admin user add" ]; then cat >> "$MC_STDIN"; printf '\\n' >> "$MC_STDIN"; fi
"""


def test_the_bucket_script_never_puts_a_secret_in_an_argv(tmp_path: Path) -> None:
    """Run the Job's script with /bin/sh and a recording mc, files laid out as its volumes."""
    secrets = {"team-a": ("AKTEAMA", "s3cret-of-team-a"), "team-b": ("AKTEAMB", "s3cret-of-team-b")}
    client, tenant_dir, policy_dir = tmp_path / "client", tmp_path / "tenants", tmp_path / "policies"
    for folder in (client, tenant_dir, policy_dir, tmp_path / "bin"):
        folder.mkdir()
    (client / "config.json").write_text(tenants.mc_config("http://minio:9000", "root", "root-password-123"))
    for ns, (access, secret) in secrets.items():
        access_name, secret_name = minio.tenant_keys(ns)
        (tenant_dir / access_name).write_text(access)
        (tenant_dir / secret_name).write_text(secret)
        (policy_dir / f"{ns}.json").write_text(tenants.policy_document(ns, ["agentic-artifacts"]))
    mc = tmp_path / "bin" / "mc"
    mc.write_text(FAKE_MC)
    mc.chmod(0o755)
    env = {
        "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin",
        "BUCKETS": "agentic-artifacts reports",
        "TENANTS": "team-a team-b",
        "CLIENT_DIR": str(client),
        "TENANT_DIR": str(tenant_dir),
        "POLICY_DIR": str(policy_dir),
        "MC_CONFIG_DIR": str(tmp_path / "mc-config"),
        "MC_LOG": str(tmp_path / "argv.log"),
        "MC_STDIN": str(tmp_path / "stdin.log"),
    }
    subprocess.run(["/bin/sh", "-c", minio.BUCKET_SCRIPT], env=env, check=True, capture_output=True, timeout=30)
    argv = (tmp_path / "argv.log").read_text()
    for value in ("root-password-123", *(secret for _, secret in secrets.values())):
        assert value not in argv
    assert (tmp_path / "stdin.log").read_text().split() == ["s3cret-of-team-a", "s3cret-of-team-b"]
    assert json.loads((tmp_path / "mc-config" / "config.json").read_text())["aliases"]["platform"]["secretKey"] == (
        "root-password-123"
    )
    assert argv.splitlines() == [
        "admin info platform",
        "mb --ignore-existing platform/agentic-artifacts",
        "mb --ignore-existing platform/reports",
        "admin user add platform AKTEAMA",
        "admin policy create platform agentic-team-a " + str(policy_dir / "team-a.json"),
        "admin policy attach platform agentic-team-a --user AKTEAMA",
        "admin user add platform AKTEAMB",
        "admin policy create platform agentic-team-b " + str(policy_dir / "team-b.json"),
        "admin policy attach platform agentic-team-b --user AKTEAMB",
    ]
