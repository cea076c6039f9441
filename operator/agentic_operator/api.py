"""The AgentWorkload custom resource: one source of truth for its schema.

The same OpenAPI v3 schema is rendered into the CustomResourceDefinition (so the API
server validates and defaults objects) and evaluated here with ``jsonschema`` (so the
operator rejects bad objects with the same rules even where the CRD schema was not
enforced, e.g. an older CRD still installed). Rules a structural schema cannot express
(the job id defaulted from ``metadata.name``, approval shorter than execution) are checked
in :func:`validate` and, for the API server, by a CEL rule.

Ref: https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import jsonschema

GROUP = "agentic.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "AgentWorkload"
PLURAL = "agentworkloads"
SINGULAR = "agentworkload"
SHORT_NAMES = ["aw"]

PHASES = ("Pending", "Running", "AwaitingApproval", "Succeeded", "Failed", "Rejected")
TERMINAL_PHASES = frozenset({"Succeeded", "Failed", "Rejected"})
DECISION_STAGES = ("admission", "gate", "human", "timeout")
MAX_DECISIONS = 20

# The WorkflowTemplate a workload runs unless it names another; the platform installs
# it under this name in every workload namespace.
DEFAULT_TEMPLATE = "visual-analysis-template"
DEFAULT_THRESHOLD = 0.95
DEFAULT_EXECUTION_SECONDS = 7200
DEFAULT_APPROVAL_SECONDS = 3600

# A human decides at the gate with annotations (the spec is immutable):
#   kubectl annotate aw NAME agentic.dev/approval=approved agentic.dev/approval-by=... ...
APPROVAL = f"{GROUP}/approval"  # approved | rejected
APPROVAL_BY = f"{GROUP}/approval-by"
APPROVAL_REASON = f"{GROUP}/approval-reason"
# A decision's ``source`` (status.decisions[].source, the gate's decided-by output) names a
# human as ``annotation:<approval-by>``; anything else is a policy engine or the operator.
_HUMAN_SOURCE = "annotation:"


def human_source(actor: str) -> str:
    """The decision source that records a human's annotation."""
    return f"{_HUMAN_SOURCE}{actor}"


def is_human_source(source: str) -> bool:
    """Whether a decision source (read back from status or the gate's outputs) is a human."""
    return source.startswith(_HUMAN_SOURCE)


# Patterns shared by the CRD (evaluated by the API server with RE2), validate() and the
# stack config (Python's re, through python_pattern()) and policies/data.json (OPA, RE2).
# They keep to what both engines read alike: no \s, \d or \b (their classes differ), and
# a final $, which python_pattern() makes mean end of text for Python too (Python's $ also
# matches before a trailing newline). tests/test_shared_patterns.py holds every copy to it.

# A DNS-1123 label (at most 63 characters, checked beside it): a namespace, and a job id,
# which is also a valid Workflow name and label value (Argo puts the Workflow name in pod
# labels, which allow at most 63 characters).
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
JOB_ID_PATTERN = DNS_LABEL_PATTERN
_QUANTITY = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
# No braces: Argo substitutes {{...}} in parameter values it passes on (see _NO_TEMPLATING).
URL_PATTERN = r"^https?://[^\t\n\f\r /?#@{}]+([/?#][^\t\n\f\r {}]*)?$"
# Free text without "{{", which Argo's templating would expand inside the Workflow.
_NO_TEMPLATING = r"^([^{]|\{[^{])*\{?$"
# Named groups (RE2 accepts them too) let the stack config check that images are pinned.
IMAGE_PATTERN = (
    r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*"
    r"(:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?P<digest>@sha256:[a-f0-9]{64})?$"
)
# An artifact bucket: 3 to 63 of a-z, 0-9 and '-', starting and ending with a letter or
# digit. S3 and MinIO also accept dots, but then also require no "..", no ".-" or "-.",
# and no IP-address form, which one pattern with the length bound cannot say; and a
# dotted name breaks virtual-hosted-style TLS (the bucket becomes extra DNS labels under
# the wildcard certificate), which is why AWS advises against dots. The dot-free subset
# is accepted by every S3 implementation and is the one rule here, in the CRD, the stack
# config (minio.bucket) and the admission policy (policies/data.json bucket_pattern).
# Ref: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"
_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


@functools.cache
def python_pattern(pattern: str) -> re.Pattern[str]:
    """A shared pattern compiled for Python, meaning what it means to RE2 (see above)."""
    return re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern)


def _str(description: str, **rules: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **rules}


def _quantities(description: str) -> dict[str, Any]:
    quantity = {
        "description": "A Kubernetes quantity, e.g. 500m or 1Gi.",
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "x-kubernetes-int-or-string": True,
        "pattern": _QUANTITY,
    }
    return {
        "type": "object",
        "description": description,
        "properties": {"cpu": quantity, "memory": quantity, "ephemeral-storage": quantity},
    }


SPEC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "What to analyse and how the approval gate decides.",
    "required": ["targetUrls", "objective"],
    "x-kubernetes-validations": [
        {
            # Like a Job's template: the Workflow is built from the spec once, so later
            # edits would silently not apply. Approval goes through annotations instead.
            "rule": "self == oldSelf",
            "message": "spec is immutable: delete and recreate the AgentWorkload to change it",
        },
        {
            "rule": "self.timeouts.approvalSeconds < self.timeouts.executionSeconds",
            "fieldPath": ".timeouts.approvalSeconds",
            "message": "must be less than timeouts.executionSeconds: the Workflow's "
            "deadline keeps running while it waits at the gate",
        },
    ],
    "properties": {
        "jobId": _str(
            "Identifies the job: names the Workflow and the artifact prefix job-<jobId>/. Defaults to metadata.name.",
            maxLength=63,
            pattern=JOB_ID_PATTERN,
        ),
        "targetUrls": {
            "type": "array",
            "description": "Pages to analyse (http or https).",
            "minItems": 1,
            "maxItems": 50,
            "items": _str("An http or https URL.", maxLength=2048, pattern=URL_PATTERN),
        },
        "objective": _str(
            "What the analysis should find out (no '{{': Argo would expand it).",
            minLength=1,
            maxLength=4096,
            pattern=_NO_TEMPLATING,
        ),
        "workflowTemplateRef": {
            "type": "object",
            "description": "The WorkflowTemplate (in this namespace) the Workflow runs.",
            "default": {},
            "properties": {
                "name": _str(
                    "WorkflowTemplate name.",
                    default=DEFAULT_TEMPLATE,
                    maxLength=253,
                    pattern=_DNS_SUBDOMAIN,
                )
            },
        },
        "agentImage": _str(
            "Container image for the agent steps; defaults to the platform's agent image.",
            maxLength=512,
            pattern=IMAGE_PATTERN,
        ),
        "minioBucket": _str("Artifact bucket; defaults to the platform's bucket.", pattern=BUCKET_PATTERN),
        "autoApproveThreshold": {
            "type": "number",
            "description": "Confidence at or above which the gate policy may auto-approve.",
            "minimum": 0,
            "maximum": 1,
            "default": DEFAULT_THRESHOLD,
        },
        "timeouts": {
            "type": "object",
            "description": "Time limits.",
            "default": {},
            "properties": {
                "executionSeconds": {
                    "type": "integer",
                    "description": "Whole-run deadline (the Workflow's activeDeadlineSeconds), "
                    "including the wait at the gate.",
                    "minimum": 60,
                    "maximum": 604800,
                    "default": DEFAULT_EXECUTION_SECONDS,
                },
                "approvalSeconds": {
                    "type": "integer",
                    "description": "How long the gate waits for a human before rejecting.",
                    "minimum": 30,
                    "maximum": 604800,
                    "default": DEFAULT_APPROVAL_SECONDS,
                },
            },
        },
        "resources": {
            "type": "object",
            "description": "Requests and limits for the agent steps' main containers.",
            "properties": {
                "requests": _quantities("Minimum resources."),
                "limits": _quantities("Maximum resources."),
            },
        },
    },
}

_CONDITION = {
    "type": "object",
    "required": ["type", "status", "lastTransitionTime", "reason", "message"],
    "properties": {
        "type": _str("Condition type.", maxLength=316),
        "status": _str("True, False or Unknown.", enum=["True", "False", "Unknown"]),
        "observedGeneration": {"type": "integer", "minimum": 0},
        "lastTransitionTime": _str("When status last changed.", format="date-time"),
        "reason": _str("CamelCase reason.", maxLength=1024),
        "message": _str("Human-readable detail.", maxLength=32768),
    },
}

_DECISION = {
    "type": "object",
    "required": ["stage", "allowed", "time"],
    "properties": {
        "stage": _str("Where the decision was made.", enum=list(DECISION_STAGES)),
        "allowed": {"type": "boolean"},
        "reasons": {"type": "array", "items": {"type": "string"}},
        "source": _str("Who decided: the policy engine, or a human's annotation."),
        "time": _str("When.", format="date-time"),
    },
}

STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Observed state, written by the operator.",
    "properties": {
        "phase": _str("Lifecycle phase.", enum=list(PHASES)),
        "observedGeneration": {"type": "integer", "minimum": 0},
        "conditions": {
            "type": "array",
            "items": _CONDITION,
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
        "argoWorkflow": {
            "type": "object",
            "description": "The Argo Workflow running this job.",
            "properties": {
                "name": {"type": "string"},
                "namespace": {"type": "string"},
                "uid": {"type": "string"},
            },
        },
        "argoPhase": _str("Argo's own workflow phase, verbatim."),
        "suspended": {"type": "boolean", "description": "Argo's rule: waiting at a suspend."},
        "progress": _str("Finished/total steps as Argo reports them, e.g. 3/7."),
        "currentStep": _str("The active step or gate."),
        "workflowArtifacts": {
            "type": "object",
            "description": "<step>/<artifact> -> s3://bucket/key.",
            "additionalProperties": {"type": "string"},
        },
        "decisions": {
            "type": "array",
            "description": f"Policy and human decisions, newest last (at most {MAX_DECISIONS}).",
            "maxItems": MAX_DECISIONS,
            "items": _DECISION,
        },
        "message": _str("Why the workload is in its phase."),
        "startedAt": _str("When the Workflow started.", format="date-time"),
        "finishedAt": _str("When the workload reached a final phase.", format="date-time"),
    },
}


def crd() -> dict[str, Any]:
    """The apiextensions.k8s.io/v1 CustomResourceDefinition for AgentWorkload."""
    column = {"type": "string"}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": SINGULAR,
                "shortNames": list(SHORT_NAMES),
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {**column, "name": "Phase", "jsonPath": ".status.phase"},
                        {**column, "name": "Argo", "jsonPath": ".status.argoPhase"},
                        {**column, "name": "Progress", "jsonPath": ".status.progress"},
                        {**column, "name": "Step", "jsonPath": ".status.currentStep"},
                        {
                            **column,
                            "name": "Workflow",
                            "jsonPath": ".status.argoWorkflow.name",
                            "priority": 1,
                        },
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "A policy-gated visual analysis job run as an Argo Workflow.",
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": copy.deepcopy(SPEC_SCHEMA),
                                "status": copy.deepcopy(STATUS_SCHEMA),
                            },
                        }
                    },
                }
            ],
        },
    }


# ---------------------------------------------------------------------------------------
# Validation and defaulting in Python, from the same schema.


def _closed(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the schema that rejects unknown object fields.

    The API server prunes unknown fields of a structural schema silently; the operator
    names them instead, so a typo (``targetURLs``) is not mistaken for a missing field.
    """
    out = {k: v for k, v in schema.items() if k != "x-kubernetes-validations"}
    if out.get("type") == "object" and "properties" in out:
        out["properties"] = {k: _closed(v) for k, v in out["properties"].items()}
        out.setdefault("additionalProperties", False)
    if "items" in out:
        out["items"] = _closed(out["items"])
    return out


def _pattern(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Any:
    """jsonschema's ``pattern`` keyword, with the pattern read as RE2 reads it."""
    if validator.is_type(instance, "string") and not python_pattern(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


_VALIDATOR = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": _pattern})
_SPEC_VALIDATOR = _VALIDATOR(_closed(SPEC_SCHEMA))


def _field(path: Any) -> str:
    out = "spec"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _message(error: jsonschema.ValidationError) -> str:
    where = _field(error.absolute_path)
    rule, value = error.validator, error.instance
    if rule == "required":
        missing = re.search(r"'([^']+)' is a required property", error.message)
        return f"{where}.{missing.group(1) if missing else '?'}: required"
    if rule == "additionalProperties":
        extra = sorted(set(value) - set(error.schema.get("properties", {})))
        return f"{where}: unknown field(s) {', '.join(extra)}"
    if rule == "pattern":
        description = error.schema.get("description", "")
        return f"{where}: {value!r} is not valid ({description.rstrip('.')}; must match {error.validator_value})"
    return f"{where}: {error.message}"


def apply_defaults(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec with the schema's defaults filled in, as the API server would."""

    def fill(schema: Mapping[str, Any], value: Any) -> Any:
        if not isinstance(value, dict) or schema.get("type") != "object":
            return value
        out = dict(value)
        for name, sub in schema.get("properties", {}).items():
            if name not in out and "default" in sub:
                out[name] = copy.deepcopy(sub["default"])
            if name in out:
                out[name] = fill(sub, out[name])
        return out

    filled: dict[str, Any] = fill(SPEC_SCHEMA, dict(spec)) if isinstance(spec, Mapping) else {}
    return filled


def job_id(obj: Mapping[str, Any]) -> str:
    """The job id: ``spec.jobId``, else ``metadata.name``. It names the Workflow and the
    artifact prefix ``job-<jobId>/``. Never raises: a malformed object reads as empty."""
    spec, meta = obj.get("spec"), obj.get("metadata")
    explicit = spec.get("jobId") if isinstance(spec, Mapping) else None
    return str(explicit or (meta.get("name", "") if isinstance(meta, Mapping) else ""))


def validate(obj: Mapping[str, Any]) -> list[str]:
    """Every problem with an AgentWorkload, each message starting with the field's path."""
    spec = obj.get("spec") if isinstance(obj, Mapping) else None
    if not isinstance(spec, Mapping):
        return ["spec: required (an object)"]
    spec = apply_defaults(spec)
    errors = sorted((_message(e) for e in _SPEC_VALIDATOR.iter_errors(spec)), key=lambda m: m.split(":")[0])
    if "jobId" not in spec:
        name = job_id(obj)
        if not (len(name) <= 63 and python_pattern(JOB_ID_PATTERN).match(name)):
            errors.append(
                f"spec.jobId: required because metadata.name {name!r} is not a valid job id "
                f"(at most 63 characters matching {JOB_ID_PATTERN})"
            )
    errors += _resource_errors(spec.get("resources"))
    timeouts = spec.get("timeouts")
    if isinstance(timeouts, Mapping):
        approval, execution = timeouts.get("approvalSeconds"), timeouts.get("executionSeconds")
        if isinstance(approval, int) and isinstance(execution, int) and approval >= execution:
            errors.append(
                f"spec.timeouts.approvalSeconds: {approval} must be less than "
                f"timeouts.executionSeconds ({execution}): the Workflow's deadline keeps "
                "running while it waits at the gate"
            )
    return errors


_SUFFIX: dict[str, Decimal] = {
    **{s: Decimal(2) ** (10 * (i + 1)) for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
    **{
        s: Decimal(10) ** e
        for s, e in (
            ("n", -9),
            ("u", -6),
            ("m", -3),
            ("", 0),
            ("k", 3),
            ("M", 6),
            ("G", 9),
            ("T", 12),
            ("P", 15),
            ("E", 18),
        )
    },
}


def quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity's value (``"500m"`` -> 0.5), or None when it is not one."""
    match = re.fullmatch(r"([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([KMGTPE]i|[numkMGTPE]?)", str(value).strip())
    if not match:
        return None
    try:
        return Decimal(match.group(1)) * _SUFFIX[match.group(2)]
    except ArithmeticError:
        return None


def _resource_errors(resources: Any) -> list[str]:
    """Requests above limits: the API server would refuse every agent pod."""
    if not isinstance(resources, Mapping):
        return []
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    errors = []
    for name in sorted(set(requests) & set(limits)):
        low, high = quantity(requests[name]), quantity(limits[name])
        if low is not None and high is not None and low > high:
            errors.append(
                f"spec.resources.requests.{name}: {requests[name]} is more than "
                f"spec.resources.limits.{name} ({limits[name]})"
            )
    return errors


class InvalidWorkload(ValueError):
    """An AgentWorkload that breaks its schema; ``errors`` name the fields."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class WorkloadSpec:
    """A validated, defaulted AgentWorkload spec, for the code that acts on it.

    ``defaulted`` is the same spec as a document (camelCase, schema defaults filled in, as
    the API server stores it): what the policies are given.
    """

    job_id: str
    target_urls: tuple[str, ...]
    objective: str
    template: str
    agent_image: str | None
    bucket: str | None
    threshold: float
    execution_seconds: int
    approval_seconds: int
    resources: Mapping[str, Mapping[str, str]]
    defaulted: Mapping[str, Any]


_VALIDATED: dict[tuple[str, str, str, int], tuple[Any, tuple[str, ...]]] = {}
_VALIDATED_MAX = 100_000  # entries (a few hundred bytes each); past that the memo starts over


def _validated(obj: Mapping[str, Any]) -> list[str]:
    """:func:`validate`, remembered per object and generation.

    A reconcile runs for every Argo step and every resync, but the spec changes only with
    ``metadata.generation`` (the API server bumps it on every spec change), and jsonschema
    was 7% of the operator's CPU. The remembered spec is compared too, so an object
    without a real generation (a test's, or a hand-made one) is never mistaken for another.
    """
    meta = obj.get("metadata") if isinstance(obj, Mapping) else None
    uid, generation = (meta.get("uid"), meta.get("generation")) if isinstance(meta, Mapping) else (None, None)
    if not isinstance(uid, str) or not uid or not isinstance(generation, int) or isinstance(generation, bool):
        return validate(obj)
    key = (str(meta.get("namespace", "")), str(meta.get("name", "")), uid, generation)  # type: ignore[union-attr]
    spec = obj.get("spec")
    seen = _VALIDATED.get(key)
    if seen is not None and seen[0] == spec:
        return list(seen[1])
    errors = validate(obj)
    if len(_VALIDATED) >= _VALIDATED_MAX:
        _VALIDATED.clear()
    _VALIDATED[key] = (copy.deepcopy(spec), tuple(errors))
    return errors


def parse(obj: Mapping[str, Any]) -> WorkloadSpec:
    """The typed spec of an AgentWorkload, or :class:`InvalidWorkload` naming each field."""
    errors = _validated(obj)
    if errors:
        raise InvalidWorkload(errors)
    spec = apply_defaults(obj["spec"])
    timeouts = spec["timeouts"]
    resources = {
        kind: {name: str(q) for name, q in quantities.items()}
        for kind, quantities in (spec.get("resources") or {}).items()
    }
    return WorkloadSpec(
        job_id=job_id(obj),
        target_urls=tuple(spec["targetUrls"]),
        objective=spec["objective"],
        template=spec["workflowTemplateRef"]["name"],
        agent_image=spec.get("agentImage"),
        bucket=spec.get("minioBucket"),
        threshold=float(spec["autoApproveThreshold"]),
        execution_seconds=timeouts["executionSeconds"],
        approval_seconds=timeouts["approvalSeconds"],
        resources=resources,
        defaulted=spec,
    )
