"""The platform's CrossGuard rules: what no stack of it may create, whatever the code says.

Each rule is a ``ResourceValidationPolicy`` over the inputs the engine is about to send to
the Kubernetes provider (the same manifests the mock harness records), so a change to a
component that slips past its unit tests still stops ``pulumi preview --policy-pack``.

- ``restricted-pod-security``: every pod (Deployments, StatefulSets, Jobs, Pods, Argo
  WorkflowTemplates) meets the ``restricted`` Pod Security Standard: non-root, no
  privilege escalation, every capability dropped, the RuntimeDefault seccomp profile, no
  privileged containers, no host namespaces or hostPath volumes.
- ``pinned-images``: every container image is pinned (the stack config's own rule,
  :func:`components.config.image_problem`); ``pinned-charts``: every Helm chart has an
  exact version (:func:`components.config.chart_version_problem`).
- ``no-plaintext-secrets``: no ConfigMap key and no plain ``env`` value whose name says
  it holds a credential (password, secret, token, key, credential, DSN): those belong in
  Secrets, read through ``secretKeyRef``.
- ``no-wildcard-rbac``: no ``*`` in the apiGroups, resources or verbs of a Role or
  ClusterRole rule.
- ``resources-set``: every container requests CPU and memory and limits memory.

Ref: https://www.pulumi.com/docs/iac/using-pulumi/crossguard/
Ref: https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from components.config import chart_version_problem, image_problem

POD_TEMPLATES = frozenset(
    {
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:apps/v1:DaemonSet",
        "kubernetes:apps/v1:ReplicaSet",
        "kubernetes:batch/v1:Job",
    }
)
CRON_JOB = "kubernetes:batch/v1:CronJob"
POD = "kubernetes:core/v1:Pod"
WORKFLOW_TEMPLATE = "kubernetes:argoproj.io/v1alpha1:WorkflowTemplate"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
ROLES = frozenset(
    {"kubernetes:rbac.authorization.k8s.io/v1:Role", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"}
)
CHARTS = frozenset({"kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Chart"})
# A name that says "I hold a credential" (env vars, ConfigMap keys).
CREDENTIAL_NAME = re.compile(
    r"(?i)(passw(or)?d|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|credential|dsn)"
)


# ---------------------------------------------------------------------------------------
# Where the pods are (pure: manifests in, (where, pod spec, containers) out).


def _containers(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        *(spec.get("initContainers") or []),
        *(spec.get("containers") or []),
        *(spec.get("ephemeralContainers") or []),
    ]


def pods(
    resource_type: str, props: Mapping[str, Any]
) -> Iterator[tuple[str, Mapping[str, Any], list[Mapping[str, Any]]]]:
    """Every pod a resource defines: (where, pod-level spec, its containers)."""
    spec = props.get("spec") or {}
    if resource_type in POD_TEMPLATES:
        pod = (spec.get("template") or {}).get("spec") or {}
        yield "spec.template.spec", pod, _containers(pod)
    elif resource_type == CRON_JOB:
        pod = ((((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")) or {}
        yield "spec.jobTemplate.spec.template.spec", pod, _containers(pod)
    elif resource_type == POD:
        yield "spec", spec, _containers(spec)
    elif resource_type == WORKFLOW_TEMPLATE:
        # Argo makes one pod per container/script template; pod-level settings are the
        # workflow's (spec.securityContext) unless a template sets its own.
        for template in spec.get("templates") or []:
            steps = [template[k] for k in ("container", "script") if k in template]
            steps += [*(template.get("initContainers") or []), *(template.get("sidecars") or [])]
            if steps:
                pod = {**spec, "securityContext": template.get("securityContext") or spec.get("securityContext") or {}}
                yield f"spec.templates[{template.get('name')}]", pod, steps


# ---------------------------------------------------------------------------------------
# Checks (pure): each yields the problems it finds, one sentence each.


def _setting(key: str, container: Mapping[str, Any], pod: Mapping[str, Any]) -> Any:
    """A security setting as it applies to a container: its own, else the pod's."""
    if key in container:
        return container[key]
    return pod.get(key)


def restricted_problems(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    for where, pod, containers in pods(resource_type, props):
        pod_context = pod.get("securityContext") or {}
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(key):
                yield f"{where}: {key} is set"
        for volume in pod.get("volumes") or []:
            if "hostPath" in volume:
                yield f"{where}: volume {volume.get('name')!r} is a hostPath"
        for container in containers:
            name, context = container.get("name"), container.get("securityContext") or {}

            if _setting("runAsNonRoot", context, pod_context) is not True:
                yield f"{where}: container {name!r} may run as root (runAsNonRoot is not true)"
            if context.get("privileged"):
                yield f"{where}: container {name!r} is privileged"
            if context.get("allowPrivilegeEscalation") is not False:
                yield f"{where}: container {name!r} allows privilege escalation"
            if "ALL" not in ((context.get("capabilities") or {}).get("drop") or []):
                yield f"{where}: container {name!r} does not drop ALL capabilities"
            if (_setting("seccompProfile", context, pod_context) or {}).get("type") not in (
                "RuntimeDefault",
                "Localhost",
            ):
                yield f"{where}: container {name!r} has no RuntimeDefault seccomp profile"


_WORKFLOW_PARAMETER = re.compile(r"^\{\{workflow\.parameters\.([-\w]+)\}\}$")


def _resolved(image: Any, props: Mapping[str, Any]) -> Any:
    """A WorkflowTemplate's ``{{workflow.parameters.x}}`` image as its default value (what
    runs unless a Workflow passes another, which the admission policy checks)."""
    match = _WORKFLOW_PARAMETER.match(image) if isinstance(image, str) else None
    if not match:
        return image
    parameters = ((props.get("spec") or {}).get("arguments") or {}).get("parameters") or []
    return next((p.get("value") for p in parameters if p.get("name") == match.group(1)), None)


def image_problems(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    for where, _, containers in pods(resource_type, props):
        for container in containers:
            image = _resolved(container.get("image"), props)
            if not isinstance(image, str):
                yield f"{where}: container {container.get('name')!r} names no image"
            elif problem := image_problem(image):
                yield f"{where}: container {container.get('name')!r}: {problem}"


def chart_problems(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    if resource_type in CHARTS:
        version = props.get("version")
        if not isinstance(version, str):
            yield f"chart {props.get('chart')!r} has no version"
        elif problem := chart_version_problem(version):
            yield f"chart {props.get('chart')!r}: {problem}"


def plaintext_secret_problems(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    if resource_type == CONFIG_MAP:
        for field in ("data", "binaryData"):
            for key in props.get(field) or {}:
                if CREDENTIAL_NAME.search(key):
                    yield f"ConfigMap key {key!r} looks like a credential: keep it in a Secret"
    for where, _, containers in pods(resource_type, props):
        for container in containers:
            for variable in container.get("env") or []:
                name = str(variable.get("name", ""))
                if "value" in variable and CREDENTIAL_NAME.search(name):
                    yield f"{where}: container {container.get('name')!r} sets {name} as a plain value: use secretKeyRef"


def rbac_problems(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    if resource_type in ROLES:
        for index, rule in enumerate(props.get("rules") or []):
            for field in ("apiGroups", "resources", "verbs"):
                if "*" in (rule.get(field) or []):
                    yield f"rules[{index}].{field} holds '*'"


def resource_problems(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    for where, _, containers in pods(resource_type, props):
        for container in containers:
            resources = container.get("resources") or {}
            requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
            missing = [f"requests.{k}" for k in ("cpu", "memory") if k not in requests]
            missing += ["limits.memory"] if "memory" not in limits else []
            if missing:
                yield f"{where}: container {container.get('name')!r} lacks {', '.join(missing)}"


# ---------------------------------------------------------------------------------------
# The policies.

Check = Callable[[str, Mapping[str, Any]], Iterator[str]]


def _policy(name: str, description: str, check: Check) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for problem in check(args.resource_type, args.props):
            report_violation(f"{args.name}: {problem}", None)

    return ResourceValidationPolicy(name=name, description=description, validate=validate)


POLICIES = (
    _policy("restricted-pod-security", "Every pod meets the restricted Pod Security Standard.", restricted_problems),
    _policy(
        "pinned-images",
        "Every container image is pinned (a full version, a release stamp, a sha or a digest).",
        image_problems,
    ),
    _policy("pinned-charts", "Every Helm chart is pinned to an exact version.", chart_problems),
    _policy("no-plaintext-secrets", "No credential in a ConfigMap or a plain env value.", plaintext_secret_problems),
    _policy("no-wildcard-rbac", "No '*' in the apiGroups, resources or verbs of a Role or ClusterRole.", rbac_problems),
    _policy("resources-set", "Every container requests CPU and memory and limits memory.", resource_problems),
)
