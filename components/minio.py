"""Minio: the artifact store. A pinned MinIO StatefulSet, its Service, credentials, bucket.

- Images: stack config (``minio.image``, ``minio.clientImage``; defaults in
  :mod:`components.config`). Which tags those are and why is in docs/ARCHITECTURE.md,
  "Pinned versions and where they were checked".
- Two credentials, each from ``secure:`` config or generated once by a
  :class:`~components.generated.GeneratedSecret` (kept, encrypted, in the state): the root user, which stays in the platform namespace,
  and an artifact user (MinIO's built-in ``readwrite`` policy) whose keys are copied into
  each workload namespace for Argo. Workload namespaces never see the root credentials.
- The bucket Job (``mc``) runs after the StatefulSet is ready: it creates the bucket and
  the artifact user, idempotently, so re-running it is harmless.
- Non-root with a read-only root filesystem: data on the PVC, certs dir and ``mc``'s
  config on an ``emptyDir``; the web console is off (``MINIO_BROWSER=off``).

Ref: https://min.io/docs/minio/linux/operations/monitoring/healthcheck-probe.html
Ref: https://min.io/docs/minio/linux/reference/minio-mc-admin/mc-admin-user.html
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import podspec
from components.base import Component, raw
from components.config import MinioConfig
from components.generated import GeneratedSecret
from components.template import minio_endpoint

NAME = "minio"
CREDENTIALS_SECRET = "minio-credentials"
API_PORT = 9000
ROOT_USER, ROOT_PASSWORD = "rootUser", "rootPassword"
ARTIFACT_ACCESS_KEY, ARTIFACT_SECRET_KEY = "artifactAccessKey", "artifactSecretKey"

# Creates the bucket and the artifact user; every command is idempotent.
BUCKET_SCRIPT = """\
set -eu
until mc alias set platform "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null; do
  echo "waiting for MinIO at $MINIO_URL"; sleep 3
done
mc mb --ignore-existing "platform/$BUCKET"
mc admin user add platform "$ARTIFACT_ACCESS_KEY" "$ARTIFACT_SECRET_KEY"
mc admin policy attach platform readwrite --user "$ARTIFACT_ACCESS_KEY" \\
  || mc admin user info platform "$ARTIFACT_ACCESS_KEY" | grep -q readwrite
echo "bucket $BUCKET and artifact user ready"
"""


def _secret_env(name: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": CREDENTIALS_SECRET, "key": key}}}


def statefulset_spec(config: MinioConfig) -> dict[str, Any]:
    """The StatefulSet's spec (pure)."""
    labels = podspec.labels(NAME)
    keep = "Retain" if config.retain_data else "Delete"
    container = {
        "name": NAME,
        "image": config.image,
        "args": ["server", "/data", "--address", f":{API_PORT}", "--certs-dir", "/tmp/certs"],
        "env": [
            _secret_env("MINIO_ROOT_USER", ROOT_USER),
            _secret_env("MINIO_ROOT_PASSWORD", ROOT_PASSWORD),
            {"name": "MINIO_BROWSER", "value": "off"},
            {"name": "HOME", "value": "/tmp"},
        ],
        "ports": [{"name": "api", "containerPort": API_PORT}],
        "readinessProbe": podspec.http_probe("/minio/health/ready", API_PORT),
        "livenessProbe": podspec.http_probe("/minio/health/live", API_PORT, period=20, initial_delay=10),
        "resources": podspec.resources(("100m", "256Mi"), ("1", "1Gi")),
        "securityContext": podspec.container_security_context(),
        "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "replicas": 1,
        "serviceName": NAME,
        "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "securityContext": podspec.pod_security_context(),
                "automountServiceAccountToken": False,
                "containers": [container],
                "volumes": [podspec.scratch_volume("tmp", "64Mi")],
            },
        },
        # The claim outlives the StatefulSet unless the stack gives the data up (retain.minioData).
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": keep, "whenScaled": keep},
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": config.storage_size}}},
            }
        ],
    }


def bucket_job_spec(config: MinioConfig) -> dict[str, Any]:
    """The bucket Job's spec (pure): ``mc`` in a restricted pod, secrets via secretKeyRef."""
    container = {
        "name": "mc",
        "image": config.client_image,
        "command": ["/bin/sh", "-c", BUCKET_SCRIPT],
        "env": [
            {"name": "MINIO_URL", "value": f"http://{minio_endpoint(config.namespace)}"},
            {"name": "BUCKET", "value": config.bucket},
            _secret_env("MINIO_ROOT_USER", ROOT_USER),
            _secret_env("MINIO_ROOT_PASSWORD", ROOT_PASSWORD),
            _secret_env("ARTIFACT_ACCESS_KEY", ARTIFACT_ACCESS_KEY),
            _secret_env("ARTIFACT_SECRET_KEY", ARTIFACT_SECRET_KEY),
            {"name": "MC_CONFIG_DIR", "value": "/tmp/.mc"},
            {"name": "HOME", "value": "/tmp"},
        ],
        "resources": podspec.resources(("10m", "32Mi"), ("200m", "128Mi")),
        "securityContext": podspec.container_security_context(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "backoffLimit": 6,
        "activeDeadlineSeconds": 900,
        "template": {
            "metadata": {"labels": podspec.labels("minio-bucket")},
            "spec": {
                "restartPolicy": "Never",
                "securityContext": podspec.pod_security_context(),
                "automountServiceAccountToken": False,
                "containers": [container],
                "volumes": [podspec.scratch_volume("tmp", "16Mi")],
            },
        },
    }


class Minio(Component):
    """MinIO in the platform namespace, with its bucket and credentials."""

    def __init__(self, name: str, config: MinioConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:minio:Minio", name, opts)
        root_user = config.root.user or self._generated("root-user", 16)
        root_password = config.root.password or self._generated("root-password", 40)
        self.artifact_access_key = config.artifacts.user or self._generated("artifact-access-key", 20)
        self.artifact_secret_key = config.artifacts.password or self._generated("artifact-secret-key", 40)
        labels = podspec.labels(NAME)

        def meta(name: str) -> Any:
            return raw({"name": name, "namespace": config.namespace, "labels": labels})

        self.credentials = k8s.core.v1.Secret(
            self.named("credentials"),
            metadata=meta(CREDENTIALS_SECRET),
            type="Opaque",
            string_data={
                ROOT_USER: root_user,
                ROOT_PASSWORD: root_password,
                ARTIFACT_ACCESS_KEY: self.artifact_access_key,
                ARTIFACT_SECRET_KEY: self.artifact_secret_key,
            },
            opts=self.child(),
        )
        self.service = k8s.core.v1.Service(
            self.named("service"),
            metadata=meta(NAME),
            spec=raw(
                {
                    "selector": {"app.kubernetes.io/name": NAME},
                    "ports": [{"name": "api", "port": API_PORT, "targetPort": "api"}],
                }
            ),
            opts=self.child(),
        )
        self.statefulset = k8s.apps.v1.StatefulSet(
            self.named("statefulset"),
            metadata=meta(NAME),
            spec=raw(statefulset_spec(config)),
            opts=self.child(self.credentials, self.service),
        )
        self.bucket_job = k8s.batch.v1.Job(
            self.named("bucket"),
            metadata=meta("minio-bucket"),
            spec=raw(bucket_job_spec(config)),
            opts=self.child(self.statefulset, self.service, self.credentials),
        )
        self.endpoint = pulumi.Output.from_input(minio_endpoint(config.namespace))
        self.bucket = pulumi.Output.from_input(config.bucket)
        self.register_outputs({"endpoint": self.endpoint, "bucket": self.bucket, "job": self.bucket_job.metadata.name})

    def _generated(self, what: str, length: int) -> pulumi.Output[str]:
        """A random alphanumeric value, created once and kept (encrypted) in the state."""
        return pulumi.Output.secret(GeneratedSecret(self.named(what), length, opts=self.child()).value)
