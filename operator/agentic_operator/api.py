"""The AgentWorkload custom resource: one source of truth for its schema.

The same OpenAPI v3 schema is rendered into the CustomResourceDefinition (so the API
server validates and defaults objects) and evaluated here with ``jsonschema`` (so the
operator rejects bad objects with the same rules even where the CRD schema was not
enforced, e.g. an older CRD still installed). Rules a structural schema cannot express
(the job id defaulted from ``metadata.name``, quantities within bounds, requests within
limits, approval shorter than execution, an immutable spec) are CEL rules in the CRD and
Python in :func:`validate`. tests/cluster/test_crd.py holds both to the real API server's
verdict, field by field.

Ref: https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentic_operator import checks, quantities
from agentic_operator.quantities import quantity as quantity
from agentic_operator.re2 import python_pattern as python_pattern

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
# stack config (Python's re, through python_pattern(), which refuses what the two engines
# read differently and makes $ mean end of text) and policies/data.json (OPA, RE2).
# tests/test_shared_patterns.py holds every copy to them, tests/cluster/test_crd.py holds
# Python's reading to the real server's.

# A DNS-1123 label (at most 63 characters, checked beside it): a namespace, and a job id,
# which is also a valid Workflow name and label value (Argo puts the Workflow name in pod
# labels, which allow at most 63 characters).
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
JOB_ID_PATTERN = DNS_LABEL_PATTERN
_QUANTITY = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
# Printable ASCII only, as RFC 3986 has it (an IRI is sent punycoded and percent-encoded):
# a host in fullwidth letters (U+FF4C U+FF4F U+FF43 ...), which IDNA maps to ASCII at
# connect time ("localhost"), never reaches the admission policy; nor does whitespace of
# any script. No braces: Argo
# substitutes {{...}} in parameter values it passes on (see _NO_TEMPLATING).
# Ref: https://www.rfc-editor.org/rfc/rfc3986#section-2
URL_PATTERN = r"^https?://[\x21-\x22\x24-\x2e\x30-\x3e\x41-\x7a\x7c\x7e]+([/?#][\x21-\x7a\x7c\x7e]*)?$"
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


def _str(description: str, **rules: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **rules}


def _quantity(resource: str) -> dict[str, Any]:
    low, high = quantities.BOUNDS[resource]
    return {
        "description": f"A Kubernetes quantity from {low} to {high}, e.g. 500m or 1Gi.",
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "x-kubernetes-int-or-string": True,
        "pattern": _QUANTITY,
        "maxLength": 64,
        "x-kubernetes-validations": [
            {"rule": quantities.cel_bounds(resource), "message": f"must be a quantity from {low} to {high}"}
        ],
    }


def _quantities(description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": {resource: _quantity(resource) for resource in quantities.BOUNDS},
    }


def _request_within_limit(resource: str) -> dict[str, str]:
    """CEL: a request above its limit would make the API server refuse every agent pod."""
    field = resource.replace("-", "__dash__")  # CEL's escape for a property name
    request, limit = f"self.requests.{field}", f"self.limits.{field}"
    return {
        "rule": f"!has(self.requests) || !has(self.limits) || !has({request}) || !has({limit}) || "
        f"!isQuantity(string({request})) || "
        f"!isQuantity(string({limit})) || "
        f"quantity(string({request})).compareTo(quantity(string({limit}))) <= 0",
        "fieldPath": f".requests['{resource}']" if "-" in resource else f".requests.{resource}",
        "message": f"must not be more than limits.{resource}",
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
            # An integral float here (120.0) passes the schema but fails this rule's
            # evaluation ("expected int, got float64"): validate() refuses it as a float.
            "rule": "self.timeouts.approvalSeconds < self.timeouts.executionSeconds",
            "fieldPath": ".timeouts.approvalSeconds",
            "message": "must be less than timeouts.executionSeconds: the Workflow's "
            "deadline keeps running while it waits at the gate",
        },
    ],
    "properties": {
        "jobId": _str(
            "Identifies the job: names the Workflow and the artifact prefix <namespace>/<jobId>/. Defaults to metadata.name.",
            maxLength=63,
            pattern=JOB_ID_PATTERN,
        ),
        "targetUrls": {
            "type": "array",
            "description": "Pages to analyse (http or https).",
            "minItems": 1,
            "maxItems": 50,
            "items": _str("An http or https URL, printable ASCII.", maxLength=2048, pattern=URL_PATTERN),
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
            "description": "Time limits, in whole seconds.",
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
            "x-kubernetes-validations": [_request_within_limit(resource) for resource in quantities.BOUNDS],
            "properties": {
                "requests": _quantities("Minimum resources."),
                "limits": _quantities("Maximum resources."),
            },
        },
    },
}

_CONDITION = {
    "type": "object",
    "description": "A condition, as metav1.Condition.",
    "required": ["type", "status", "lastTransitionTime", "reason", "message"],
    "properties": {
        "type": _str("Condition type.", maxLength=316),
        "status": _str("True, False or Unknown.", enum=["True", "False", "Unknown"]),
        "observedGeneration": {
            "type": "integer",
            "description": "The metadata.generation the condition was set for.",
            "minimum": 0,
        },
        "lastTransitionTime": _str("When status last changed.", format="date-time"),
        "reason": _str("CamelCase reason.", maxLength=1024),
        "message": _str("Human-readable detail.", maxLength=32768),
    },
}

_DECISION = {
    "type": "object",
    "description": "One decision.",
    "required": ["stage", "allowed", "time"],
    "properties": {
        "stage": _str("Where the decision was made.", enum=list(DECISION_STAGES)),
        "allowed": {"type": "boolean", "description": "Whether the work may go on."},
        "reasons": {"type": "array", "description": "Why.", "items": _str("A reason.")},
        "source": _str("Who decided: the policy engine, or a human's annotation."),
        "time": _str("When.", format="date-time"),
    },
}

STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Observed state, written by the operator.",
    "properties": {
        "phase": _str("Lifecycle phase.", enum=list(PHASES)),
        "observedGeneration": {
            "type": "integer",
            "description": "The metadata.generation this status describes.",
            "minimum": 0,
        },
        "conditions": {
            "type": "array",
            "description": "Admitted, WorkflowCreated, Approved and Ready.",
            "items": _CONDITION,
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
        "argoWorkflow": {
            "type": "object",
            "description": "The Argo Workflow running this job.",
            "properties": {
                "name": _str("The Workflow's name."),
                "namespace": _str("The Workflow's namespace."),
                "uid": _str("The Workflow's uid."),
            },
        },
        "argoPhase": _str("Argo's own workflow phase, verbatim."),
        "suspended": {"type": "boolean", "description": "Argo's rule: waiting at a suspend."},
        "progress": _str("Finished/total steps as Argo reports them, e.g. 3/7."),
        "currentStep": _str("The active step or gate."),
        "workflowArtifacts": {
            "type": "object",
            "description": "<step>/<artifact> -> s3://bucket/key.",
            "additionalProperties": _str("An artifact's location, s3://bucket/key."),
        },
        "decisions": {
            "type": "array",
            "description": f"Policy and human decisions, newest last (at most {MAX_DECISIONS}).",
            "maxItems": MAX_DECISIONS,
            "items": _DECISION,
        },
        "message": _str("Why the workload is in its phase."),
        "startedAt": _str("When the Workflow started.", format="date-time"),
        "gateReachedAt": _str(
            "When the operator first saw the Workflow waiting at the approval gate, by its own "
            "clock: timeouts.approvalSeconds counts from here.",
            format="date-time",
        ),
        "finishedAt": _str("When the workload reached a final phase.", format="date-time"),
    },
}


# The job id defaults to metadata.name, which may be any DNS subdomain (dots, up to 253
# characters); such a name needs an explicit spec.jobId. (A CEL rule at the root may read
# metadata.name; the pattern holds no quote or backslash to escape.)
_JOB_ID_RULE = {
    "rule": "has(self.spec.jobId) || "
    f"(size(self.metadata.name) <= 63 && self.metadata.name.matches('{JOB_ID_PATTERN}'))",
    "fieldPath": ".spec.jobId",
    "message": "required because metadata.name is not a valid job id "
    f"(at most 63 characters matching {JOB_ID_PATTERN})",
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
                            "x-kubernetes-validations": [copy.deepcopy(_JOB_ID_RULE)],
                            "properties": {
                                # The server publishes the standard descriptions of these
                                # three, and allows nothing more on metadata.
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
# Validation and defaulting in Python, from the same schema (read as the server reads it).


_SPEC_VALIDATOR = checks.Validator(checks.closed(SPEC_SCHEMA))


def apply_defaults(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec with the schema's defaults filled in, as the API server would."""
    filled: dict[str, Any] = checks.defaulted(SPEC_SCHEMA, spec) if isinstance(spec, Mapping) else {}
    return filled


def job_id(obj: Mapping[str, Any]) -> str:
    """The job id: ``spec.jobId``, else ``metadata.name``. It names the Workflow and the
    artifact prefix ``<namespace>/<jobId>/``. Never raises: a malformed object reads as empty."""
    spec, meta = obj.get("spec"), obj.get("metadata")
    explicit = spec.get("jobId") if isinstance(spec, Mapping) else None
    return str(explicit or (meta.get("name", "") if isinstance(meta, Mapping) else ""))


def validate(obj: Mapping[str, Any]) -> list[str]:
    """Every problem with an AgentWorkload, each message starting with the field's path.

    In the API server's two rounds: the schema (types, patterns, sizes, no unknown field,
    and what JSON cannot carry: NaN, infinities, lone surrogates), then, unless that found
    a blocking error (:func:`checks.blocking`), the rules the CRD states in CEL (the job
    id from metadata.name, quantities' bounds, requests within limits, approval shorter
    than execution). Never raises.
    """
    if not isinstance(obj, Mapping) or not isinstance(obj.get("spec"), Mapping):
        return ["spec: required (an object)"]
    spec = apply_defaults(obj["spec"])
    schema_errors = list(_SPEC_VALIDATOR.iter_errors(spec))
    blocked = _metadata_errors(obj.get("metadata", {})) + checks.surrogates(spec, "spec")
    errors = blocked + [m for e in schema_errors for m in checks.messages(e, "spec")]
    if not blocked and not any(checks.blocking(e) for e in schema_errors):
        errors += _rule_errors(obj, spec)
    return sorted(errors, key=lambda m: m.split(": ", 1)[0])


def _metadata_errors(meta: Any) -> list[str]:
    """The metadata the operator reads, in the shapes the API server guarantees."""
    if not isinstance(meta, Mapping):
        return [f"metadata: {checks.type_message(meta, 'object')}"]
    errors = [
        f"metadata.{key}: {checks.type_message(meta[key], 'string')}"
        for key in ("name", "namespace", "uid", "resourceVersion")
        if key in meta and not isinstance(meta[key], str)
    ]
    if "generation" in meta and not checks.is_integer(meta["generation"]):
        errors.append(f"metadata.generation: {checks.type_message(meta['generation'], 'integer')}")
    for key in ("labels", "annotations"):
        value = meta.get(key)
        if value is not None and not (
            isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        ):
            errors.append(f"metadata.{key}: {checks.show(value)} is not a map of strings")
    return errors + checks.surrogates(meta, "metadata")


def _rule_errors(obj: Mapping[str, Any], spec: Mapping[str, Any]) -> list[str]:
    """The CRD's CEL rules, on a spec that passed the schema."""
    errors = []
    name = job_id(obj)
    if "jobId" not in spec and not (len(name) <= 63 and python_pattern(JOB_ID_PATTERN).search(name)):
        errors.append(
            f"spec.jobId: required because metadata.name {checks.show(name)} is not a valid job id "
            f"(at most 63 characters matching {JOB_ID_PATTERN})"
        )
    resources = spec.get("resources") or {}
    for kind in ("requests", "limits"):
        for resource, value in (resources.get(kind) or {}).items():
            if problem := quantities.out_of_bounds(resource, value):
                errors.append(f"spec.resources.{kind}.{resource}: {checks.show(value)} {problem}")
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    for resource in sorted(set(requests) & set(limits)):
        low, high = quantity(requests[resource]), quantity(limits[resource])
        if low is not None and high is not None and low > high:
            errors.append(
                f"spec.resources.requests.{resource}: {requests[resource]} is more than "
                f"spec.resources.limits.{resource} ({limits[resource]})"
            )
    approval, execution = spec["timeouts"]["approvalSeconds"], spec["timeouts"]["executionSeconds"]
    if approval >= execution:
        errors.append(
            f"spec.timeouts.approvalSeconds: {approval} must be less than "
            f"timeouts.executionSeconds ({execution}): the Workflow's deadline keeps "
            "running while it waits at the gate"
        )
    return errors


def readable_status(status: Any) -> dict[str, Any]:
    """The fields of a status that have the schema's shape; the rest dropped.

    The status is the operator's own record, and the API server enforces its schema; a
    field of another shape (an older CRD, a hand edit) is rewritten rather than trusted.
    """
    if not isinstance(status, Mapping):
        return {}
    fields = STATUS_SCHEMA["properties"]
    return {name: value for name, value in status.items() if name in fields and checks.has_shape(fields[name], value)}


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


_VALIDATED: dict[tuple[str, str, str, int], tuple[str, tuple[str, ...]]] = {}
_VALIDATED_MAX = 100_000  # entries (a few hundred bytes each); past that the memo starts over


def _validated(obj: Mapping[str, Any]) -> list[str]:
    """:func:`validate`, remembered per object and generation.

    A reconcile runs for every Argo step and every resync, but the spec changes only with
    ``metadata.generation`` (the API server bumps it on every spec change), and jsonschema
    was 7% of the operator's CPU. The remembered spec is compared too (as JSON text, so
    ``1``, ``1.0`` and ``true`` differ), so an object without a real generation (a test's,
    or a hand-made one) is never mistaken for another.
    """
    meta = obj.get("metadata") if isinstance(obj, Mapping) else None
    uid, generation = (meta.get("uid"), meta.get("generation")) if isinstance(meta, Mapping) else (None, None)
    if not isinstance(uid, str) or not uid or not isinstance(generation, int) or isinstance(generation, bool):
        return validate(obj)
    key = (str(meta.get("namespace", "")), str(meta.get("name", "")), uid, generation)  # type: ignore[union-attr]
    try:  # the spec as JSON: Python's == holds 1 == 1.0 == True, the schema does not
        spec = json.dumps(obj.get("spec"), sort_keys=True, allow_nan=True)
    except (TypeError, ValueError):
        return validate(obj)
    seen = _VALIDATED.get(key)
    if seen is not None and seen[0] == spec:
        return list(seen[1])
    errors = validate(obj)
    if len(_VALIDATED) >= _VALIDATED_MAX:
        _VALIDATED.clear()
    _VALIDATED[key] = (spec, tuple(errors))
    return errors


def parse(obj: Mapping[str, Any]) -> WorkloadSpec:
    """The typed spec of an AgentWorkload, or :class:`InvalidWorkload` naming each field."""
    errors = _validated(obj)
    if errors:
        raise InvalidWorkload(errors)
    spec = apply_defaults(obj["spec"])
    timeouts = spec["timeouts"]
    resources = {
        kind: {name: str(amount) for name, amount in amounts.items()}
        for kind, amounts in (spec.get("resources") or {}).items()
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
