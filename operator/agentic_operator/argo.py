"""Argo Workflows read and written the way Argo's own code does; pure functions on dicts.

Argo's rules this module follows (argoproj/argo-workflows, ``workflow/util/util.go``):

- Phases are "", Pending, Running, Succeeded, Failed, Error. There is no "Suspended"
  phase or condition: a workflow is suspended when it is Running and ``spec.suspend`` is
  true or some node of type Suspend is Running (``IsWorkflowSuspended``).
- ``argo resume`` reads the Workflow, clears ``spec.suspend``, marks every Running Suspend
  node Succeeded with ``finishedAt`` now, gives supplied output parameters their value (or
  their default), and writes the whole object back (the Workflow CRD has no status
  subresource), retrying on 409 Conflict with a fresh read (``ResumeWorkflow``,
  ``updateSuspendedNode``).
- ``argo stop`` (and ``argo terminate``) merge-patch ``spec.shutdown``.
- Large workflows keep nodes compressed (gzip, zstd or brotli) in
  ``status.compressedNodes`` or offloaded to Argo's database
  (``status.offloadNodeStatusVersion``); offloaded nodes can be read and resumed only
  through the Argo Server (``workflow/packer``, ``workflow/hydrator``).

Ref: https://argo-workflows.readthedocs.io/en/latest/fields/
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import brotli
import zstandard

from agentic_contract import pipeline
from agentic_operator import api, argo_names
from agentic_operator.settings import Settings
from agentic_operator.timestamps import format_time

COMPLETED_PHASES = frozenset({"Succeeded", "Failed", "Error"})
# Node types that are one step of the pipeline (a Retry node stands for its attempts).
_STEP_TYPES = frozenset({"Pod", "Suspend", "HTTP", "Plugin", "Retry"})
_ACTIVE = frozenset({"Pending", "Running"})


class ArgoError(Exception):
    """Something Argo would refuse, with a message that says why."""


class OffloadedNodesError(ArgoError):
    """The node status lives in Argo's database, out of reach of the Kubernetes API."""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


# ---------------------------------------------------------------------------------------
# Building the Workflow for an AgentWorkload.


def owner_reference(workload: Mapping[str, Any]) -> dict[str, Any]:
    """The controller reference that lets Kubernetes delete the Workflow with its workload.

    Owner and dependent must share a namespace: the garbage collector deletes a dependent
    whose namespaced owner is in another namespace.
    Ref: https://kubernetes.io/docs/concepts/overview/working-with-objects/owners-dependents/
    """
    meta = workload["metadata"]
    return {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND,
        "name": meta["name"],
        "uid": meta.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _resources(resources: Mapping[str, Mapping[str, str]]) -> str:
    """The ``main`` containers' requests and limits, as the template's ``resources`` parameter.

    The template feeds it into its own podSpecPatch (a Workflow's own would be marked Error
    under ``templateReferencing: Strict`` or ``Secure``), which Argo applies as a strategic
    merge over the template's resources, key by key: a request set alone could exceed the
    template's limit (or a limit fall below its request) and the API server would refuse
    the pod. Each resource the workload names is therefore set on both sides: a missing
    limit is the request, a missing request is the limit (as Kubernetes defaults requests
    to limits). ``{}`` keeps the template's resources.
    Ref: https://argo-workflows.readthedocs.io/en/latest/fields/#template (podSpecPatch)
    """
    if not resources:
        return "{}"
    requests, limits = dict(resources.get("requests") or {}), dict(resources.get("limits") or {})
    return json.dumps({"requests": {**limits, **requests}, "limits": {**requests, **limits}}, sort_keys=True)


def build_workflow(workload: Mapping[str, Any], spec: api.WorkloadSpec, settings: Settings) -> dict[str, Any]:
    """The Workflow that runs an AgentWorkload (``spec``: its parsed spec), in its namespace.

    Its name is the job id, so a retried create finds the Workflow it made before instead
    of making a second one. Only non-secret values travel as arguments: credentials reach
    the steps through Secret references in the template.
    """
    meta = workload["metadata"]
    parameters = {
        pipeline.PARAM_JOB_ID: spec.job_id,
        pipeline.PARAM_TARGET_URLS: json.dumps(list(spec.target_urls)),
        pipeline.PARAM_OBJECTIVE: spec.objective,
        pipeline.PARAM_AGENT_IMAGE: spec.agent_image or settings.default_agent_image,
        pipeline.PARAM_BUCKET: spec.bucket or settings.default_bucket,
        pipeline.PARAM_RESOURCES: _resources(spec.resources),
    }
    # Only fields Argo lets a Workflow override under templateReferencing Strict or Secure
    # (``ValidateUserOverrides``): the template owns the rest.
    workflow_spec: dict[str, Any] = {
        "workflowTemplateRef": {"name": spec.template},
        "arguments": {"parameters": [{"name": k, "value": v} for k, v in parameters.items()]},
        "activeDeadlineSeconds": spec.execution_seconds,
    }
    return {
        "apiVersion": argo_names.API_VERSION,
        "kind": "Workflow",
        "metadata": {
            "name": spec.job_id,
            "namespace": meta["namespace"],
            "labels": {argo_names.LABEL_MANAGED_BY: argo_names.MANAGER, argo_names.LABEL_JOB_ID: spec.job_id},
            "annotations": {argo_names.ANNOTATION_WORKLOAD: meta["name"]},
            "ownerReferences": [owner_reference(workload)],
        },
        "spec": workflow_spec,
    }


def owner_references(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [r for r in _list(_dict(obj.get("metadata")).get("ownerReferences")) if isinstance(r, dict)]


def is_owned_by(workflow: Mapping[str, Any], workload: Mapping[str, Any]) -> bool:
    """Whether the Workflow's owner reference names this very workload (by uid)."""
    uid = _dict(workload.get("metadata")).get("uid")
    return any(r.get("uid") == uid and r.get("kind") == api.KIND for r in owner_references(workflow))


def is_owned_by_namesake(workflow: Mapping[str, Any], workload: Mapping[str, Any]) -> bool:
    """Whether an AgentWorkload of the workload's name owns the Workflow.

    When it is not this very workload (:func:`is_owned_by`), it is an earlier one of the
    same name, deleted and created again: the garbage collector is removing its Workflow,
    so waiting resolves the name clash.
    """
    name = _dict(workload.get("metadata")).get("name")
    return any(r.get("kind") == api.KIND and r.get("name") == name for r in owner_references(workflow))


# ---------------------------------------------------------------------------------------
# Reading status.


# Argo's node compression (``util/file/fileutil.go``, v4.1): it writes gzip (the default),
# zstd or brotli, as ``WORKFLOW_COMPRESSION_ALGORITHM`` in the writing process's
# environment says, and tells them apart on reading by their magic bytes; brotli streams
# have none, so whatever is neither gzip nor zstd is read as brotli. (v4.0 reads and
# writes gzip only.)
GZIP, ZSTD, BROTLI = "gzip", "zstd", "brotli"
_MAGIC = {GZIP: b"\x1f\x8b", ZSTD: b"\x28\xb5\x2f\xfd"}


def compression_of(raw: bytes) -> str:
    """The algorithm Argo would decompress ``raw`` with."""
    return next((name for name, magic in _MAGIC.items() if raw.startswith(magic)), BROTLI)


def _decompress(data: str) -> tuple[dict[str, Any], str]:
    """The nodes in ``status.compressedNodes`` and the algorithm they were compressed with.

    Raises ``ValueError`` (or ``OSError``/``EOFError`` from gzip) when they cannot be read.
    """
    raw = base64.b64decode(data, validate=True)
    algorithm = compression_of(raw)
    try:
        if algorithm == GZIP:
            text = gzip.decompress(raw)
        elif algorithm == ZSTD:
            text = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
        else:
            text = brotli.decompress(raw)
    except (zstandard.ZstdError, brotli.error) as exc:
        raise ValueError(f"not a valid {algorithm} stream: {exc}") from exc
    nodes = json.loads(text)
    if not isinstance(nodes, dict):
        raise ValueError("not a map of nodes")
    return nodes, algorithm


def _compress(nodes: Mapping[str, Any], algorithm: str) -> str:
    """Nodes as Argo's ``CompressEncodeString`` writes them: JSON, compressed, base64."""
    data = json.dumps(nodes, separators=(",", ":")).encode()
    if algorithm == GZIP:
        packed = gzip.compress(data)
    elif algorithm == ZSTD:
        packed = zstandard.ZstdCompressor().compress(data)
    else:
        packed = brotli.compress(data)
    return base64.b64encode(packed).decode()


def _stored_nodes(status: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], str | None]:
    """The nodes, and how the status holds them: None for plain ``status.nodes``, else the
    algorithm of ``status.compressedNodes``. Raises ``ValueError`` when they cannot be decoded."""
    nodes, algorithm = _dict(status.get("nodes")), None
    if not nodes and _text(status.get("compressedNodes")):
        nodes, algorithm = _decompress(status["compressedNodes"])
    return {k: v for k, v in nodes.items() if isinstance(v, dict)}, algorithm


def nodes_of(workflow: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``status.nodes``, decompressed from ``status.compressedNodes`` when needed.

    Raises ``ValueError`` when compressed nodes cannot be decoded.
    """
    return _stored_nodes(_dict(workflow.get("status")))[0]


def is_active_suspend(node: Mapping[str, Any]) -> bool:
    """Argo's ``NodeStatus.IsActiveSuspendNode``."""
    return node.get("type") == "Suspend" and node.get("phase") == "Running"


@dataclass(frozen=True)
class SuspendNode:
    """An active Suspend node: the gate, waiting."""

    id: str
    name: str
    display_name: str
    template_name: str
    started_at: str | None
    awaiting: tuple[str, ...]  # supplied output parameters that still need a value


@dataclass(frozen=True)
class WorkflowStatus:
    """What the operator needs to know of a Workflow; unknown fields read as empty."""

    phase: str = ""
    message: str = ""
    started_at: str | None = None
    finished_at: str | None = None
    suspended: bool = False
    shutdown: str = ""
    nodes_total: int = 0
    nodes_succeeded: int = 0
    nodes_failed: int = 0
    nodes_running: int = 0
    progress: str = ""
    current_step: str | None = None
    suspend_nodes: tuple[SuspendNode, ...] = ()
    artifacts: Mapping[str, str] = field(default_factory=dict)
    step_outputs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    offloaded: bool = False
    nodes_error: str | None = None
    # Why each failed step failed (displayName -> its node's message): a Workflow failed by
    # a step carries no message of its own, e.g. scraper: "main: Error (exit code 1)".
    failures: Mapping[str, str] = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        return self.phase in COMPLETED_PHASES


def _attempts(nodes: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Ids of nodes that are attempts under a Retry node (the Retry node speaks for them)."""
    return {
        child
        for node in nodes.values()
        if node.get("type") == "Retry"
        for child in _list(node.get("children"))
        if isinstance(child, str)
    }


def _failure(node: Mapping[str, Any], nodes: Mapping[str, Mapping[str, Any]]) -> str:
    """Why a step failed: its node's message; for a Retry node, its last attempt's (the
    cause, e.g. "main: Error (exit code 1)") before its own ("retryStrategy.expression
    evaluated to false")."""
    message = _text(node.get("message"))
    children = [c for c in _list(node.get("children")) if isinstance(c, str)] if node.get("type") == "Retry" else []
    cause = _text(_dict(nodes.get(children[-1])).get("message")) if children else ""
    return "; ".join(m for m in (cause, message) if m)


def _supplied(param: Mapping[str, Any]) -> bool:
    return "supplied" in _dict(param.get("valueFrom"))


def _template_name(node: Mapping[str, Any]) -> str:
    """Argo's ``GetTemplateFromNode``: a node's templateRef names its template, else templateName."""
    ref = node.get("templateRef")
    return _text(ref.get("template")) if isinstance(ref, dict) else _text(node.get("templateName"))


def _template(workflow: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Argo's ``Workflow.GetTemplateByName``: the Workflow's own templates, then those of the
    WorkflowTemplate it references (``status.storedWorkflowTemplateSpec``), then the stored
    ones; ``{}`` when none has the name."""
    spec, status = _dict(workflow.get("spec")), _dict(workflow.get("status"))
    stored = _dict(status.get("storedTemplates"))
    candidates = (
        *_list(spec.get("templates")),
        *_list(_dict(status.get("storedWorkflowTemplateSpec")).get("templates")),
        *(stored[k] for k in sorted(stored)),
    )
    return next((t for t in map(_dict, candidates) if t.get("name") == name), {})


def _s3_location(location: Mapping[str, Any]) -> bool:
    """Argo's ``S3Artifact.HasLocation``: a full location names endpoint, bucket and key."""
    s3 = _dict(location.get("s3"))
    return all(_text(s3.get(k)) for k in ("endpoint", "bucket", "key"))


def _archive_bucket(workflow: Mapping[str, Any], node: Mapping[str, Any], repo_bucket: str) -> str:
    """The bucket Argo moves a node's artifacts into when they lack a full location.

    The node's template's own ``archiveLocation`` wins when it is a full location, else
    the artifact repository's (``getArtifactAndDriver`` in ``server/artifacts/
    artifact_server.go``; the controller decides alike in ``addArchiveLocation``). Only
    S3 locations are understood.
    """
    name = _template_name(node)
    archive = _dict(_template(workflow, name).get("archiveLocation")) if name else {}
    return _text(_dict(archive.get("s3")).get("bucket")) if _s3_location(archive) else repo_bucket


def _artifact_url(artifact: Mapping[str, Any], archive_bucket: str) -> str | None:
    """``s3://bucket/key``: the artifact's own bucket only with a full location; otherwise
    Argo's ``Relocate`` keeps just the key and takes the rest from the archive location."""
    s3 = _dict(artifact.get("s3"))
    key = _text(s3.get("key"))
    if not key:
        return None
    bucket = _text(s3.get("bucket")) if _s3_location(artifact) else archive_bucket
    return f"s3://{bucket}/{key}" if bucket else key


def workflow_status(workflow: Mapping[str, Any] | None, *, default_bucket: str = "") -> WorkflowStatus:
    """Argo's view of a Workflow, as ``argo get`` and ``argo list`` would show it.

    ``default_bucket`` names the bucket for key-only artifacts when neither their template's
    ``archiveLocation`` nor the artifact repository the Workflow records
    (``artifactRepositoryRef.default: true`` records none) names one. Never raises:
    a malformed field reads as unknown.
    """
    if not isinstance(workflow, Mapping):
        return WorkflowStatus()
    spec, status = _dict(workflow.get("spec")), _dict(workflow.get("status"))
    phase = _text(status.get("phase"))
    offloaded = bool(_text(status.get("offloadNodeStatusVersion")))
    nodes_error = None
    try:
        nodes = nodes_of(workflow)
    except (ValueError, OSError, EOFError) as exc:  # binascii.Error is a ValueError
        nodes, nodes_error = {}, f"status.compressedNodes unreadable: {exc}"
    if offloaded and not nodes:
        nodes_error = "node status is offloaded to Argo's database; only the Argo Server can read it"

    repo = _dict(_dict(status.get("artifactRepositoryRef")).get("artifactRepository"))
    repo_bucket = _text(_dict(repo.get("s3")).get("bucket")) or default_bucket
    attempts = _attempts(nodes)
    steps = [n for i, n in nodes.items() if n.get("type") in _STEP_TYPES and i not in attempts]
    count = {p: sum(1 for n in steps if n.get("phase") == p) for p in ("Succeeded", "Running")}
    failed_nodes = [n for n in steps if n.get("phase") in ("Failed", "Error")]
    failed = len(failed_nodes)

    suspend_nodes = tuple(
        SuspendNode(
            id=_text(n.get("id")) or node_id,
            name=_text(n.get("name")),
            display_name=_text(n.get("displayName")),
            template_name=_text(n.get("templateName")),
            started_at=_text(n.get("startedAt")) or None,
            awaiting=tuple(
                _text(p.get("name"))
                for p in map(_dict, _list(_dict(n.get("outputs")).get("parameters")))
                if _supplied(p)
            ),
        )
        for node_id, n in sorted(nodes.items())
        if is_active_suspend(n)
    )
    suspended = phase == "Running" and (spec.get("suspend") is True or bool(suspend_nodes))

    active = sorted(  # a Retry node stands for its attempts (which are not steps)
        (n for n in steps if n.get("phase") in _ACTIVE),
        key=lambda n: (_text(n.get("startedAt")), _text(n.get("displayName"))),
    )
    if suspend_nodes:
        current: str | None = ", ".join(s.display_name for s in suspend_nodes)
    elif active:
        current = ", ".join(_text(n.get("displayName")) for n in active)
    else:
        current = None

    artifacts: dict[str, str] = {}
    outputs: dict[str, dict[str, str]] = {}
    for n in steps:
        node_outputs = _dict(n.get("outputs"))
        step = _text(n.get("displayName"))
        for artifact in map(_dict, _list(node_outputs.get("artifacts"))):
            url = _artifact_url(artifact, _archive_bucket(workflow, n, repo_bucket))
            if url is not None:
                artifacts[f"{step}/{_text(artifact.get('name'))}"] = url
        if n.get("phase") == "Succeeded":
            params = {
                _text(p.get("name")): str(p["value"])
                for p in map(_dict, _list(node_outputs.get("parameters")))
                if p.get("value") is not None
            }
            if params:
                outputs[step] = params

    progress = _text(status.get("progress"))
    if not re.fullmatch(r"\d+/\d+", progress):
        progress = f"{count['Succeeded']}/{len(steps)}" if steps else ""
    return WorkflowStatus(
        phase=phase,
        message=_text(status.get("message")),
        started_at=_text(status.get("startedAt")) or None,
        finished_at=_text(status.get("finishedAt")) or None,
        suspended=suspended,
        shutdown=_text(spec.get("shutdown")),
        nodes_total=len(steps),
        nodes_succeeded=count["Succeeded"],
        nodes_failed=failed,
        nodes_running=count["Running"],
        progress=progress,
        current_step=current,
        suspend_nodes=suspend_nodes,
        artifacts=artifacts,
        step_outputs=outputs,
        offloaded=offloaded,
        nodes_error=nodes_error,
        failures={_text(n.get("displayName")): _failure(n, nodes) for n in failed_nodes},
    )


# ---------------------------------------------------------------------------------------
# Writing: resume, stop.


def _node_fields(node: Mapping[str, Any]) -> dict[str, str]:
    """The fields a node field selector can match (Argo's ``SelectorMatchesNode``)."""
    fields = {
        "displayName": _text(node.get("displayName")),
        "templateName": _template_name(node),
        "phase": _text(node.get("phase")),
        "name": _text(node.get("name")),
        "id": _text(node.get("id")),
    }
    if ref := _dict(node.get("templateRef")):
        fields["templateRef.name"] = _text(ref.get("name"))
        fields["templateRef.template"] = _text(ref.get("template"))
    for param in map(_dict, _list(_dict(node.get("inputs")).get("parameters"))):
        fields[f"inputs.parameters.{_text(param.get('name'))}.value"] = str(param.get("value", ""))
    return fields


# Field selector operators, in the order Kubernetes tries them at each position: "==" before
# "=" so that "a==b" does not leave "=b" as the value.
_OPERATORS = ("!=", "==", "=")
_ESCAPED = frozenset("\\,=")


def _split_terms(selector: str) -> list[str]:
    """Split on commas that no backslash escapes (the escape stays in the term)."""
    terms, start, escaped = [], 0, False
    for i, char in enumerate(selector):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            terms.append(selector[start:i])
            start = i + 1
    return [*terms, selector[start:]]


def _unescape(value: str, term: str) -> str:
    """A term's value with ``\\\\``, ``\\,`` and ``\\=`` unescaped; any other escape, or a bare
    ``=``, is an error (as ``fields.UnescapeValue``)."""
    out, escaped = [], False
    for char in value:
        if escaped:
            if char not in _ESCAPED:
                raise ArgoError(f"invalid node field selector term {term!r}: unknown escape \\{char}")
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "=":
            raise ArgoError(f"invalid node field selector term {term!r}: '=' in a value must be escaped as \\=")
        else:
            out.append(char)
    if escaped:
        raise ArgoError(f"invalid node field selector term {term!r}: it ends in a lone backslash")
    return "".join(out)


def _split_term(term: str) -> tuple[str, str, str]:
    for i in range(len(term)):
        for op in _OPERATORS:
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    raise ArgoError(f"invalid node field selector term {term!r}: no =, == or !=")


def parse_selector(selector: str) -> list[tuple[str, str, bool]]:
    """A field selector (``a=b,c!=d``) as (field, value, equal) terms, parsed as Kubernetes'
    ``fields.ParseSelector`` (which Argo's ``--node-field-selector`` uses) parses it.

    Terms are split at commas not escaped by a backslash and empty terms are skipped; a
    term splits at its first operator (the field is taken verbatim); the value unescapes
    ``\\\\``, ``\\,`` and ``\\=``. Nothing is trimmed: ``"phase = Running"`` compares the field
    ``"phase "`` with ``" Running"``, as Argo does.
    Ref: https://github.com/kubernetes/apimachinery/blob/master/pkg/fields/selector.go
    """
    terms = []
    for term in filter(None, _split_terms(selector)):
        field_name, op, value = _split_term(term)
        terms.append((field_name, _unescape(value, term), op != "!="))
    return terms


def matches(node: Mapping[str, Any], selector: str | None) -> bool:
    """Whether a node matches a field selector (no selector matches every node)."""
    if not selector:
        return True
    fields = _node_fields(node)
    return all((fields.get(k, "") == v) == eq for k, v, eq in parse_selector(selector))


def _set_global(status: dict[str, Any], name: str, value: str) -> None:
    """Argo's ``AddParamToGlobalScope``: publish a supplied value as a workflow output."""
    params = _dict(status.setdefault("outputs", {})).setdefault("parameters", [])
    for param in params:
        if param.get("name") == name:
            param["value"] = value
            return
    params.append({"name": name, "value": value})


def resume(
    workflow: Mapping[str, Any],
    *,
    node_selector: str | None = None,
    outputs: Mapping[str, str] | None = None,
    now: datetime | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    """The Workflow that ``argo resume`` would write back; the input is left unmodified.

    Every active Suspend node matching ``node_selector`` (all of them when None) becomes
    Succeeded with ``finishedAt`` now; ``outputs`` fill its supplied output parameters (and
    their ``globalName`` workflow outputs), and any other supplied parameter takes its
    default. A supplied parameter with neither is an error, as in Argo's own resume, so a
    gate never passes with its decision unset. ``spec.suspend`` is cleared when no selector
    is given. ``message`` becomes the node's message: with a selector it replaces the old
    one (``updateSuspendedNode``), without one it is appended after ``"; "``
    (``ResumeWorkflow``). Raises :class:`ArgoError` when a selector matches no active
    Suspend node and :class:`OffloadedNodesError` when the nodes live in Argo's database.

    With a selector, Argo itself (``argo node set``) leaves supplied parameters that get no
    value unset, and a gate could then pass undecided; this refuses instead (the one
    deliberate departure, see docs/ARCHITECTURE.md).
    """
    out = copy.deepcopy(dict(workflow))
    status = out.setdefault("status", {})
    if _text(status.get("offloadNodeStatusVersion")) and not status.get("nodes"):
        raise OffloadedNodesError(
            "status.offloadNodeStatusVersion is set: the nodes live in Argo's database, "
            "so only the Argo Server (argo resume) can resume this workflow"
        )
    try:
        nodes, compression = _stored_nodes(status)
    except (ValueError, OSError, EOFError) as exc:
        raise ArgoError(f"status.compressedNodes unreadable: {exc}") from exc
    spec = out.setdefault("spec", {})
    if node_selector is None:
        spec.pop("suspend", None)
    finished = format_time(now or datetime.now(UTC))
    hit = False
    for node in nodes.values():
        if not (is_active_suspend(node) and matches(node, node_selector)):
            continue
        hit = True
        params = _list(_dict(node.get("outputs")).get("parameters"))
        for name, value in (outputs or {}).items():
            param = next((p for p in params if isinstance(p, dict) and p.get("name") == name), None)
            if param is None:
                raise ArgoError(f"node {node.get('displayName')!r} is not expecting output parameter {name!r}")
            if not _supplied(param):
                raise ArgoError(
                    f"output parameter {name!r} of {node.get('displayName')!r} is not supplied or was already set"
                )
            param["value"] = str(value)
            param.pop("valueFrom", None)
            if param.get("globalName"):
                _set_global(status, param["globalName"], str(value))
        for param in params:
            if isinstance(param, dict) and _supplied(param):
                default = param["valueFrom"].get("default")
                if default is None:
                    raise ArgoError(
                        f"raw output parameter {param.get('name')!r} of {node.get('displayName')!r} "
                        "has not been set and does not have a default value"
                    )
                param["value"] = default
                param.pop("valueFrom")
        node["phase"] = "Succeeded"
        node["finishedAt"] = finished
        if message:
            appended = node_selector is None and node.get("message")
            node["message"] = f"{node['message']}; {message}" if appended else message
    if node_selector is not None and not hit:
        raise ArgoError(f"no active suspend node matches node field selector {node_selector!r}")
    # Argo's own resume writes the nodes compressed when the whole Workflow is larger than
    # MAX_WORKFLOW_SIZE, with WORKFLOW_COMPRESSION_ALGORITHM: both read from the writing
    # process's environment (``packer.CompressWorkflowIfNeeded``), which for the operator
    # would be a guess at the controller's. What the controller last wrote is its own
    # decision, made with its own settings, and a resume changes a few fields: so the nodes
    # go back as they came, plain or compressed with the same algorithm (the one the
    # controller is known to read; a v4.0 controller reads only gzip).
    if compression is not None:
        status["compressedNodes"] = _compress(nodes, compression)
    elif nodes:
        status["nodes"] = nodes
    return out


def can_resume(workflow: Mapping[str, Any], node_selector: str | None = None) -> bool:
    """Whether :func:`resume` has anything to do: Running, and suspended where selected."""
    if _dict(workflow.get("status")).get("phase") != "Running":
        return False
    if node_selector is None and _dict(workflow.get("spec")).get("suspend") is True:
        return True
    try:
        nodes = nodes_of(workflow)
    except (ValueError, OSError, EOFError):
        return True  # let resume() report what is wrong
    if not nodes and _text(_dict(workflow.get("status")).get("offloadNodeStatusVersion")):
        return True  # likewise: resume() explains that only the Argo Server can do it
    return any(is_active_suspend(n) and matches(n, node_selector) for n in nodes.values())


def stop() -> dict[str, Any]:
    """``argo stop``: exit handlers still run. A merge patch."""
    return {"spec": {"shutdown": "Stop"}}
