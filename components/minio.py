"""Minio: the artifact store. A pinned MinIO StatefulSet, its Service, credentials, buckets.

- Images: stack config (``minio.image``, ``minio.clientImage``; defaults in
  :mod:`components.config`). Which tags those are and why is in docs/ARCHITECTURE.md,
  "Pinned versions and where they were checked".
- Credentials, each from ``secure:`` config (the root user) or generated once by a
  :class:`~components.generated.GeneratedSecret` (kept, encrypted, in the state): the
  root user, which stays in the platform namespace, and one user per workload namespace
  (:mod:`components.tenants`) whose keys go to that namespace only and whose policy
  allows its own prefix only.
- The bucket Job (``mc``) runs after the StatefulSet is ready: it creates the buckets
  the stack allows and each namespace's user and policy, idempotently. No secret is in
  its environment or argv: ``mc`` reads the root alias from a config file and each new
  user's secret key from stdin, both files of Secret volumes (a process's argv is
  readable by anything in its PID namespace, and is what ``ps`` and audit logs show).
- Non-root with a read-only root filesystem: data on the PVC, certs dir and ``mc``'s
  config on an ``emptyDir``; the web console is off (``MINIO_BROWSER=off``).

Ref: https://min.io/docs/minio/linux/operations/monitoring/healthcheck-probe.html
Ref: https://min.io/docs/minio/linux/reference/minio-mc-admin/mc-admin-user.html
Ref: https://min.io/docs/minio/linux/reference/minio-mc.html#mc-configuration
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import podspec, tenants
from components.base import Component, raw
from components.config import MinioConfig
from components.generated import GeneratedSecret
from components.template import minio_endpoint

NAME = "minio"
BUCKET_JOB = "minio-bucket"
CREDENTIALS_SECRET = "minio-credentials"  # the root user (MinIO reads it) and mc's config for the Job
TENANTS_SECRET = "minio-tenants"  # <namespace>.accessKey, <namespace>.secretKey
TENANT_POLICIES = "minio-tenant-policies"  # ConfigMap: <namespace>.json
API_PORT = 9000
ROOT_USER, ROOT_PASSWORD, MC_CONFIG = "rootUser", "rootPassword", "mcConfig"
# Where the bucket Job finds its files.
CLIENT_DIR, TENANT_DIR, POLICY_DIR = "/etc/minio-client", "/etc/minio-tenants", "/etc/minio-policies"

# Creates the buckets and one user per workload namespace; every command is idempotent
# (user add updates an existing user; policy create replaces a policy of that name;
# policy attach ignores an attachment already in place, mc's errCodeChangeAlreadyApplied).
BUCKET_SCRIPT = """\
set -eu
mkdir -p "$MC_CONFIG_DIR"
cp "$CLIENT_DIR/config.json" "$MC_CONFIG_DIR/config.json"
until mc admin info platform >/dev/null 2>&1; do
  echo "waiting for MinIO"; sleep 3
done
for bucket in $BUCKETS; do
  mc mb --ignore-existing "platform/$bucket"
done
for ns in $TENANTS; do
  user=$(cat "$TENANT_DIR/$ns.accessKey")
  mc admin user add platform "$user" < "$TENANT_DIR/$ns.secretKey"
  mc admin policy create platform "agentic-$ns" "$POLICY_DIR/$ns.json"
  mc admin policy attach platform "agentic-$ns" --user "$user"
done
echo "buckets ($BUCKETS) and users for ($TENANTS) ready"
"""


def tenant_keys(namespace: str) -> tuple[str, str]:
    """The keys of a namespace's access key and secret key in the tenants Secret."""
    return f"{namespace}.accessKey", f"{namespace}.secretKey"


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
    """The bucket Job's spec (pure): ``mc`` in a restricted pod; credentials only as files."""
    mounts = {"client": CLIENT_DIR, "tenants": TENANT_DIR, "policies": POLICY_DIR}
    container = {
        "name": "mc",
        "image": config.client_image,
        "command": ["/bin/sh", "-c", BUCKET_SCRIPT],
        "env": [
            {"name": "BUCKETS", "value": " ".join(config.buckets)},
            {"name": "TENANTS", "value": " ".join(config.tenants)},
            {"name": "CLIENT_DIR", "value": CLIENT_DIR},
            {"name": "TENANT_DIR", "value": TENANT_DIR},
            {"name": "POLICY_DIR", "value": POLICY_DIR},
            {"name": "MC_CONFIG_DIR", "value": "/tmp/.mc"},
            {"name": "HOME", "value": "/tmp"},
        ],
        "resources": podspec.resources(("10m", "32Mi"), ("200m", "128Mi")),
        "securityContext": podspec.container_security_context(),
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            *({"name": name, "mountPath": path, "readOnly": True} for name, path in mounts.items()),
        ],
    }
    return {
        "backoffLimit": 6,
        "activeDeadlineSeconds": 900,
        "template": {
            "metadata": {"labels": podspec.labels(BUCKET_JOB)},
            "spec": {
                "restartPolicy": "Never",
                "securityContext": podspec.pod_security_context(),
                "automountServiceAccountToken": False,
                "containers": [container],
                "volumes": [
                    podspec.scratch_volume("tmp", "16Mi"),
                    {
                        "name": "client",
                        "secret": {
                            "secretName": CREDENTIALS_SECRET,
                            "items": [{"key": MC_CONFIG, "path": "config.json"}],
                        },
                    },
                    {"name": "tenants", "secret": {"secretName": TENANTS_SECRET}},
                    {"name": "policies", "configMap": {"name": TENANT_POLICIES}},
                ],
            },
        },
    }


def tenant_policies(config: MinioConfig) -> dict[str, str]:
    """The policies ConfigMap's data: one IAM policy per workload namespace."""
    return {f"{ns}.json": tenants.policy_document(ns, config.allowed_buckets) for ns in config.tenants}


class Minio(Component):
    """MinIO in the platform namespace, with its buckets and credentials."""

    def __init__(self, name: str, config: MinioConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:minio:Minio", name, opts)
        root_user = config.root.user or self._generated("root-user", 16)
        root_password = config.root.password or self._generated("root-password", 40)
        # Per workload namespace: (access key, secret key) of its own MinIO user.
        self.tenants = {
            ns: (self._generated(f"{ns}-access-key", 20), self._generated(f"{ns}-secret-key", 40))
            for ns in config.tenants
        }
        labels = podspec.labels(NAME)

        def meta(name: str) -> Any:
            return raw({"name": name, "namespace": config.namespace, "labels": labels})

        url = f"http://{minio_endpoint(config.namespace)}"
        client: pulumi.Output[str] = pulumi.Output.all(root_user, root_password).apply(
            lambda r: tenants.mc_config(url, r[0], r[1])
        )
        self.credentials = k8s.core.v1.Secret(
            self.named("credentials"),
            metadata=meta(CREDENTIALS_SECRET),
            type="Opaque",
            string_data={ROOT_USER: root_user, ROOT_PASSWORD: root_password, MC_CONFIG: client},
            opts=self.child(),
        )
        tenant_data: dict[str, pulumi.Input[str]] = {}
        for ns, (access_key, secret_key) in self.tenants.items():
            access_name, secret_name = tenant_keys(ns)
            tenant_data[access_name], tenant_data[secret_name] = access_key, secret_key
        self.tenant_secret = k8s.core.v1.Secret(
            self.named("tenants"),
            metadata=meta(TENANTS_SECRET),
            type="Opaque",
            string_data=tenant_data,
            opts=self.child(),
        )
        self.tenant_policies = k8s.core.v1.ConfigMap(
            self.named("tenant-policies"),
            metadata=meta(TENANT_POLICIES),
            data=tenant_policies(config),
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
            metadata=meta(BUCKET_JOB),
            spec=raw(bucket_job_spec(config)),
            opts=self.child(self.statefulset, self.service, self.credentials, self.tenant_secret, self.tenant_policies),
        )
        self.endpoint = pulumi.Output.from_input(minio_endpoint(config.namespace))
        self.bucket = pulumi.Output.from_input(config.bucket)
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "bucket": self.bucket,
                "job": self.bucket_job.metadata.name,
                "tenants": list(self.tenants),
            }
        )

    def _generated(self, what: str, length: int) -> pulumi.Output[str]:
        """A random alphanumeric value, created once and kept (encrypted) in the state."""
        return pulumi.Output.secret(GeneratedSecret(self.named(what), length, opts=self.child()).value)
