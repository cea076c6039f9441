"""Minio: pinned image, StatefulSet with a volume, probes, credentials, the bucket Job."""

from __future__ import annotations

from components import minio, podspec
from tests.infra.harness import GENERATED_SECRET, Run, generated, is_secret
from tests.infra.k8s import pod_spec

STATEFULSET = "kubernetes:apps/v1:StatefulSet"
JOB = "kubernetes:batch/v1:Job"
SECRET = "kubernetes:core/v1:Secret"


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
        "artifact-access-key",
        "artifact-secret-key",
        "root-password",
        "root-user",
    ]
    assert [r.manifest["length"] for r in sorted(generators, key=lambda r: r.name)] == [20, 40, 40, 16]
    secret = dev_stack.one(SECRET, minio.CREDENTIALS_SECRET)
    assert is_secret(secret.inputs["stringData"])
    assert secret.manifest["stringData"] == {
        minio.ROOT_USER: generated("agentic-minio-root-user"),
        minio.ROOT_PASSWORD: generated("agentic-minio-root-password"),
        minio.ARTIFACT_ACCESS_KEY: generated("agentic-minio-artifact-access-key"),
        minio.ARTIFACT_SECRET_KEY: generated("agentic-minio-artifact-secret-key"),
    }


def test_the_bucket_job_runs_after_minio_with_secret_refs_only(dev_stack: Run) -> None:
    job = dev_stack.one(JOB, "minio-bucket")
    assert dev_stack.one(STATEFULSET, "minio").urn in job.dependencies
    pod = pod_spec(job)
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["image"] == "quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z"
    env = {e["name"]: e for e in container["env"]}
    assert env["BUCKET"]["value"] == "agentic-artifacts"
    assert env["MINIO_URL"]["value"] == "http://minio.agentic-system.svc.cluster.local:9000"
    secret_keys = set(dev_stack.one(SECRET, minio.CREDENTIALS_SECRET).manifest["stringData"])
    refs = [e["valueFrom"]["secretKeyRef"] for e in env.values() if "valueFrom" in e]
    assert {r["key"] for r in refs} == secret_keys
    assert all(r["name"] == minio.CREDENTIALS_SECRET for r in refs)
    assert container["securityContext"] == podspec.container_security_context()


def test_the_bucket_script_is_idempotent() -> None:
    """A re-run (Job replaced) must not fail on what the first run created."""
    assert 'mc mb --ignore-existing "platform/$BUCKET"' in minio.BUCKET_SCRIPT
    assert "mc admin user add" in minio.BUCKET_SCRIPT  # adding an existing user updates it
    assert "|| mc admin user info" in minio.BUCKET_SCRIPT  # attaching twice is not an error
