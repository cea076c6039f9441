"""The visual-analysis WorkflowTemplate as data: a pure builder, no Pulumi.

The pipeline (names from :mod:`agentic_operator.pipeline`, which the operator reads too)::

    scraper -> (screenshot-extractor || dom-extractor) -> approval-gate -> synthesis

- The Workflow the operator creates (``agentic_operator.argo.build_workflow``) supplies the
  global parameters job-id, target-urls, objective, agent-image and bucket; the DAG passes
  what each agent step consumes as its input parameters.
- The steps before the gate report what the gate policy weighs as output parameters
  (``pipeline.STEP_OUTPUTS``, read from files the agent writes).
- ``approval-gate`` is a ``suspend: {}`` template whose outputs are *supplied* when it is
  resumed (by the operator, for the policy or a human). ``decision`` has no default, so
  the gate cannot pass with it unset, and the suspend has no ``duration``: a timed-out
  suspend resumes by itself in Argo, which would approve by timeout. The approval timeout
  is the operator's (it stops the Workflow).
- ``synthesis`` runs only ``when`` the decision is ``approved``.
- Every artifact carries a full ``s3`` location: endpoint, the bucket from
  ``{{workflow.parameters.bucket}}``, a key under ``job-<job-id>/<step>/``, and the
  credentials Secret in the Workflow's namespace. A key-only artifact would be
  *relocated* into the default repository's bucket (``ArtifactLocation.Relocate`` keeps
  only the key), which would ignore a workload's own bucket.
- Secrets reach the containers only as ``secretKeyRef`` (the database DSN), never as
  parameters: parameters are stored in the Workflow object and shown in the UI.

The agent image's contract is documented in docs/ARCHITECTURE.md ("The agent image").

Ref: https://argo-workflows.readthedocs.io/en/latest/walk-through/dag/
Ref: https://argo-workflows.readthedocs.io/en/latest/intermediate-inputs/
Ref: https://argo-workflows.readthedocs.io/en/latest/variables/
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentic_operator import api, pipeline
from agentic_operator.argo_names import API_VERSION
from components import podspec

# Names the WorkloadNamespace component creates and the template refers to.
EXECUTOR_SERVICE_ACCOUNT = "agentic-workflow"
ARTIFACT_SECRET = "agentic-artifacts-s3"
ACCESS_KEY = "accesskey"
SECRET_KEY = "secretkey"
DATABASE_SECRET = "agentic-database"
DATABASE_KEY = "dsn"

# Where the agent reads its inputs and writes its outputs (a writable emptyDir).
SCRATCH = "/tmp"
INPUTS = f"{SCRATCH}/inputs"
OUTPUT_PARAMETERS = f"{SCRATCH}/outputs/parameters"
OUTPUT_ARTIFACTS = f"{SCRATCH}/outputs/artifacts"
AGENT_COMMAND = "agent"

# Each agent step: the artifact it produces, the artifacts it reads (from which task),
# and the input parameters it consumes.
ARTIFACTS = {
    pipeline.STEP_SCRAPER: "pages",
    pipeline.STEP_SCREENSHOTS: "images",
    pipeline.STEP_DOM: "dom",
    pipeline.STEP_SYNTHESIS: "report",
}
_READS: dict[str, tuple[str, ...]] = {
    pipeline.STEP_SCRAPER: (),
    pipeline.STEP_SCREENSHOTS: (pipeline.STEP_SCRAPER,),
    pipeline.STEP_DOM: (pipeline.STEP_SCRAPER,),
    pipeline.STEP_SYNTHESIS: (pipeline.STEP_SCRAPER, pipeline.STEP_SCREENSHOTS, pipeline.STEP_DOM),
}
_INPUTS: dict[str, tuple[str, ...]] = {
    pipeline.STEP_SCRAPER: (pipeline.PARAM_JOB_ID, pipeline.PARAM_TARGET_URLS, pipeline.PARAM_OBJECTIVE),
    pipeline.STEP_SCREENSHOTS: (pipeline.PARAM_JOB_ID, pipeline.PARAM_OBJECTIVE),
    pipeline.STEP_DOM: (pipeline.PARAM_JOB_ID, pipeline.PARAM_OBJECTIVE),
    pipeline.STEP_SYNTHESIS: (pipeline.PARAM_JOB_ID, pipeline.PARAM_OBJECTIVE),
}
# Environment variable through which the agent receives each input parameter.
_ENV = {
    pipeline.PARAM_JOB_ID: "AGENT_JOB_ID",
    pipeline.PARAM_TARGET_URLS: "AGENT_TARGET_URLS",
    pipeline.PARAM_OBJECTIVE: "AGENT_OBJECTIVE",
}
_DESCRIPTIONS = {
    pipeline.PARAM_JOB_ID: "Job id: names the Workflow and the artifact prefix job-<job-id>/.",
    pipeline.PARAM_TARGET_URLS: "The pages to analyse, as a JSON array of strings.",
    pipeline.PARAM_OBJECTIVE: "What the analysis should find out.",
    pipeline.PARAM_AGENT_IMAGE: "Container image of the agent steps.",
    pipeline.PARAM_BUCKET: "Artifact bucket.",
}
_GATE_DESCRIPTIONS = {
    pipeline.GATE_DECISION: f"{pipeline.APPROVED} or {pipeline.REJECTED}; synthesis runs only when {pipeline.APPROVED}.",
    pipeline.GATE_DECIDED_BY: "Who decided: the gate policy, or the approving human.",
    pipeline.GATE_REASON: "Why.",
}


def minio_endpoint(namespace: str) -> str:
    """The MinIO Service's in-cluster address (host:port, as Argo's s3 endpoint wants it)."""
    return f"minio.{namespace}.svc.cluster.local:9000"


@dataclass(frozen=True)
class ArtifactStore:
    """The S3-compatible store (MinIO) and the Secret holding its credentials."""

    endpoint: str
    bucket: str
    secret: str = ARTIFACT_SECRET
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    insecure: bool = True  # in-cluster MinIO serves plain HTTP


@dataclass(frozen=True)
class TemplateSettings:
    """What the platform configures in the template (its defaults are the stack config's,
    :mod:`components.config`); the rest is fixed by the pipeline."""

    artifacts: ArtifactStore
    agent_image: str
    browserless_url: str
    litellm_url: str
    requests: tuple[str, str] = ("100m", "256Mi")
    limits: tuple[str, str] = ("1", "1Gi")


def _ref(*path: str) -> str:
    """An Argo variable reference: ``_ref("inputs", "parameters", "x")`` is ``{{inputs.parameters.x}}``."""
    return "{{" + ".".join(path) + "}}"


def _param(name: str) -> str:
    return _ref("workflow", "parameters", name)


def artifact_key(step: str, artifact: str) -> str:
    """``job-<job-id>/<step>/<artifact>.tgz`` (Argo tars and gzips outputs by default)."""
    prefix = pipeline.ARTIFACT_PREFIX.format(job_id=_param(pipeline.PARAM_JOB_ID))
    return f"{prefix}{step}/{artifact}.tgz"


def _s3(store: ArtifactStore, key: str) -> dict[str, Any]:
    return {
        "endpoint": store.endpoint,
        "bucket": _param(pipeline.PARAM_BUCKET),
        "key": key,
        "insecure": store.insecure,
        "accessKeySecret": {"name": store.secret, "key": store.access_key},
        "secretKeySecret": {"name": store.secret, "key": store.secret_key},
    }


def _container(step: str, settings: TemplateSettings) -> dict[str, Any]:
    env: list[dict[str, Any]] = [{"name": _ENV[p], "value": _ref("inputs", "parameters", p)} for p in _INPUTS[step]]
    env += [
        {"name": "AGENT_INPUT_DIR", "value": INPUTS},
        {"name": "AGENT_OUTPUT_PARAMETERS", "value": OUTPUT_PARAMETERS},
        {"name": "AGENT_OUTPUT_ARTIFACTS", "value": OUTPUT_ARTIFACTS},
        {"name": "BROWSERLESS_URL", "value": settings.browserless_url},
        {"name": "LITELLM_URL", "value": settings.litellm_url},
        {
            "name": "DATABASE_URL",
            # optional: a platform without a database still runs the pipeline.
            "valueFrom": {"secretKeyRef": {"name": DATABASE_SECRET, "key": DATABASE_KEY, "optional": True}},
        },
        {"name": "HOME", "value": SCRATCH},
    ]
    return {
        "image": _param(pipeline.PARAM_AGENT_IMAGE),
        # Explicit command: the emissary executor would otherwise look the entrypoint up
        # in the registry. Ref: https://argo-workflows.readthedocs.io/en/latest/workflow-executors/
        "command": [AGENT_COMMAND, step],
        "env": env,
        "resources": podspec.resources(settings.requests, settings.limits),
        "securityContext": podspec.container_security_context(),
        "volumeMounts": [{"name": "tmp", "mountPath": SCRATCH}],
    }


def agent_step(step: str, settings: TemplateSettings) -> dict[str, Any]:
    """A container template for one agent step."""
    store = settings.artifacts
    artifact = ARTIFACTS[step]
    inputs: dict[str, Any] = {"parameters": [{"name": p} for p in _INPUTS[step]]}
    if reads := _READS[step]:
        inputs["artifacts"] = [{"name": ARTIFACTS[r], "path": f"{INPUTS}/{ARTIFACTS[r]}"} for r in reads]
    outputs: dict[str, Any] = {
        "artifacts": [
            {"name": artifact, "path": f"{OUTPUT_ARTIFACTS}/{artifact}", "s3": _s3(store, artifact_key(step, artifact))}
        ]
    }
    if params := pipeline.STEP_OUTPUTS.get(step):
        outputs["parameters"] = [{"name": p, "valueFrom": {"path": f"{OUTPUT_PARAMETERS}/{p}"}} for p in params]
    return {"name": step, "inputs": inputs, "outputs": outputs, "container": _container(step, settings)}


def approval_gate() -> dict[str, Any]:
    """The gate: suspended until resumed with supplied outputs (no duration, no defaults)."""
    decision = {
        "name": pipeline.GATE_DECISION,
        "enum": [pipeline.APPROVED, pipeline.REJECTED],
        "valueFrom": {"supplied": {}},
        "description": _GATE_DESCRIPTIONS[pipeline.GATE_DECISION],
    }
    others = [
        {"name": p, "valueFrom": {"supplied": {}}, "description": _GATE_DESCRIPTIONS[p]}
        for p in pipeline.GATE_OUTPUTS
        if p != pipeline.GATE_DECISION
    ]
    return {"name": pipeline.STEP_GATE, "suspend": {}, "outputs": {"parameters": [decision, *others]}}


def _task(step: str, dependencies: tuple[str, ...]) -> dict[str, Any]:
    task: dict[str, Any] = {
        "name": step,
        "template": step,
        "arguments": {"parameters": [{"name": p, "value": _param(p)} for p in _INPUTS[step]]},
    }
    if dependencies:
        task["dependencies"] = list(dependencies)
    if reads := _READS[step]:
        task["arguments"]["artifacts"] = [
            {"name": ARTIFACTS[r], "from": _ref("tasks", r, "outputs", "artifacts", ARTIFACTS[r])} for r in reads
        ]
    return task


def dag() -> dict[str, Any]:
    """The entrypoint: the pipeline's order, with synthesis gated on the decision."""
    gate = {
        "name": pipeline.STEP_GATE,
        "template": pipeline.STEP_GATE,
        "dependencies": [pipeline.STEP_SCREENSHOTS, pipeline.STEP_DOM],
    }
    synthesis = _task(pipeline.STEP_SYNTHESIS, (pipeline.STEP_GATE,))
    decision = _ref("tasks", pipeline.STEP_GATE, "outputs", "parameters", pipeline.GATE_DECISION)
    synthesis["when"] = f"{decision} == {pipeline.APPROVED}"
    tasks = [
        _task(pipeline.STEP_SCRAPER, ()),
        _task(pipeline.STEP_SCREENSHOTS, (pipeline.STEP_SCRAPER,)),
        _task(pipeline.STEP_DOM, (pipeline.STEP_SCRAPER,)),
        gate,
        synthesis,
    ]
    return {"name": pipeline.ENTRYPOINT, "dag": {"tasks": tasks}}


def workflow_template(settings: TemplateSettings) -> dict[str, Any]:
    """The ``visual-analysis-template`` WorkflowTemplate (without a namespace)."""
    defaults = {pipeline.PARAM_AGENT_IMAGE: settings.agent_image, pipeline.PARAM_BUCKET: settings.artifacts.bucket}
    arguments = [
        {"name": p, "description": _DESCRIPTIONS[p], **({"value": defaults[p]} if p in defaults else {})}
        for p in pipeline.WORKFLOW_PARAMETERS
    ]
    return {
        "apiVersion": API_VERSION,
        "kind": "WorkflowTemplate",
        "metadata": {"name": api.DEFAULT_TEMPLATE, "labels": podspec.labels("visual-analysis")},
        "spec": {
            "entrypoint": pipeline.ENTRYPOINT,
            "serviceAccountName": EXECUTOR_SERVICE_ACCOUNT,
            "arguments": {"parameters": arguments},
            "securityContext": podspec.pod_security_context(),
            "volumes": [podspec.scratch_volume("tmp", "2Gi")],
            "templates": [
                dag(),
                agent_step(pipeline.STEP_SCRAPER, settings),
                agent_step(pipeline.STEP_SCREENSHOTS, settings),
                agent_step(pipeline.STEP_DOM, settings),
                approval_gate(),
                agent_step(pipeline.STEP_SYNTHESIS, settings),
            ],
        },
    }
