"""Pod and container fragments shared by every workload the platform runs (pure dicts).

Everything here follows the Kubernetes "restricted" Pod Security Standard, so the
platform namespace can enforce it: non-root, no privilege escalation, every capability
dropped, the runtime's default seccomp profile, and a read-only root filesystem with an
``emptyDir`` wherever a process needs to write.

Ref: https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
"""

from __future__ import annotations

from typing import Any

# A fixed non-root uid/gid (the "nonroot" user of distroless images). Pinning it at the
# pod level makes runAsNonRoot hold even for images whose USER is root or a name.
NONROOT_UID = 65532
PART_OF = "agentic-platform"

# Pod Security Admission labels: "restricted" enforced in the platform and workload
# namespaces (Argo's injected containers pass it with the chart's executor settings);
# "baseline" in Argo's own namespace, whose chart pods we configure but do not build.
# Ref: https://kubernetes.io/docs/concepts/security/pod-security-admission/
_PSA = "pod-security.kubernetes.io"


def pod_security_labels(enforce: str) -> dict[str, str]:
    """Namespace labels for Pod Security Admission (``enforce`` is baseline or restricted)."""
    return {f"{_PSA}/enforce": enforce, f"{_PSA}/warn": "restricted", f"{_PSA}/audit": "restricted"}


def labels(component: str) -> dict[str, str]:
    """Recommended labels; ``app.kubernetes.io/name`` doubles as the selector."""
    return {
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def pod_security_context(uid: int = NONROOT_UID) -> dict[str, Any]:
    """Pod-level: a fixed non-root user and group (``fsGroup`` makes volumes writable)."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    """Container-level restricted profile with a read-only root filesystem."""
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def resources(
    requests: tuple[str, str], limits: tuple[str, str], *, ephemeral_storage: tuple[str, str] | None = None
) -> dict[str, Any]:
    """``(cpu, memory)`` requests and limits, and ``(request, limit)`` of ephemeral storage."""
    out: dict[str, Any] = {
        "requests": {"cpu": requests[0], "memory": requests[1]},
        "limits": {"cpu": limits[0], "memory": limits[1]},
    }
    if ephemeral_storage is not None:
        out["requests"]["ephemeral-storage"], out["limits"]["ephemeral-storage"] = ephemeral_storage
    return out


def scratch_volume(name: str = "tmp", size: str = "256Mi") -> dict[str, Any]:
    """A size-limited ``emptyDir``: the writable place beside a read-only root filesystem."""
    return {"name": name, "emptyDir": {"sizeLimit": size}}


def http_probe(path: str, port: int | str, *, period: int = 10, initial_delay: int = 5) -> dict[str, Any]:
    """An HTTP GET probe."""
    return {
        "httpGet": {"path": path, "port": port},
        "initialDelaySeconds": initial_delay,
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": 3,
    }
