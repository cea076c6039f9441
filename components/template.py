"""The visual-analysis WorkflowTemplate as data: a pure builder, no Pulumi.

The pipeline (names from :mod:`agentic_contract.pipeline`, which the operator and the agent read too)::

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
  ``{{workflow.parameters.bucket}}``, a key under ``<namespace>/<job-id>/<step>/``, and the
  credentials Secret in the Workflow's namespace. A key-only artifact would be
  *relocated* into the default repository's bucket (``ArtifactLocation.Relocate`` keeps
  only the key), which would ignore a workload's own bucket.
- Secrets reach the containers only as ``secretKeyRef`` (the database DSN), never as
  parameters: parameters are stored in the Workflow object and shown in the UI.
- A workload's resources arrive as the ``resources`` parameter, which each agent step
  feeds into its own ``podSpecPatch`` (default ``{}``: the template's resources). A
  Workflow's own ``podSpecPatch`` would be marked Error by a controller with
  ``templateReferencing: Strict`` or ``Secure`` (``ValidateUserOverrides``); the
  template's is its own. Argo substitutes the value as text, so whoever may create
  Workflows from this template can shape the agent pods through it, as a Workflow's
  ``podSpecPatch`` would let them: the operator writes only quantities the CRD checked.

The agent image's contract is documented in docs/ARCHITECTURE.md ("The agent image").

Ref: https://argo-workflows.readthedocs.io/en/latest/walk-through/dag/
Ref: https://argo-workflows.readthedocs.io/en/latest/intermediate-inputs/
Ref: https://argo-workflows.readthedocs.io/en/latest/variables/
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentic_contract import pipeline
from agentic_operator import api
from agentic_operator.argo_names import API_VERSION
from components import podspec
from components.bundle import Bundle

# Names the WorkloadNamespace component creates and the template refers to.
EXECUTOR_SERVICE_ACCOUNT = "agentic-workflow"
# Where Argo looks for the executor's token when the pod mounts none of its own
# (util/secrets.TokenName in argo-workflows v4.0.5).
EXECUTOR_TOKEN_SECRET = f"{EXECUTOR_SERVICE_ACCOUNT}.service-account-token"
ARTIFACT_SECRET = "agentic-artifacts-s3"
ACCESS_KEY = "accesskey"
SECRET_KEY = "secretkey"
DATABASE_SECRET = "agentic-database"
DATABASE_KEY = "dsn"
# The agent's credentials for Browserless and LiteLLM: a Secret the platform's user
# creates (kubectl create secret generic agentic-agent-credentials ...); optional.
AGENT_CREDENTIALS_SECRET = "agentic-agent-credentials"
CREDENTIAL_KEYS = {
    pipeline.ENV_BROWSERLESS_TOKEN: "browserless-token",
    pipeline.ENV_LITELLM_API_KEY: "litellm-api-key",
}
# The policy data (policies/data.json with the stack's overrides) for the agent's guard.
AGENT_POLICY_CONFIGMAP = "agentic-agent-policy"
POLICY_DATA_KEY = "data.json"
# Bundled mode: the agent's source and lock file, and where the init container installs.
AGENT_SOURCE_CONFIGMAP = "agentic-agent-source"
AGENT_SOURCE_DIR = "/opt/agentic/src"
AGENT_DEPS_DIR = "/opt/agentic/deps"
# Debian's default PATH, then the bundle's `agent` launcher last: an image with its own
# `agent` in a standard directory runs that one.
BUNDLED_PATH = f"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:{AGENT_SOURCE_DIR}/bin"

SCRATCH_SIZE = "2Gi"
# Pods go once they succeed (a failed one stays for `kubectl logs` until its Workflow
# goes); a finished Workflow goes a day later. The AgentWorkload keeps the phase,
# decisions and artifact locations; the artifacts stay in MinIO.
# Ref: https://argo-workflows.readthedocs.io/en/latest/cost-optimisation/#limit-the-total-number-of-workflows-and-pods
POD_GC = {"strategy": "OnPodSuccess"}
TTL_STRATEGY = {"secondsAfterCompletion": 86400}
_DESCRIPTIONS = {
    pipeline.PARAM_JOB_ID: "Job id: names the Workflow and the artifact prefix <namespace>/<job-id>/.",
    pipeline.PARAM_TARGET_URLS: "The pages to analyse, as a JSON array of strings.",
    pipeline.PARAM_OBJECTIVE: "What the analysis should find out.",
    pipeline.PARAM_AGENT_IMAGE: "Container image of the agent steps.",
    pipeline.PARAM_BUCKET: "Artifact bucket.",
    pipeline.PARAM_RESOURCES: "Requests and limits of the agent steps' main containers, as JSON; {}: the template's.",
}
_GATE_DESCRIPTIONS = {
    pipeline.GATE_DECISION: f"{pipeline.APPROVED} or {pipeline.REJECTED}; synthesis runs only when {pipeline.APPROVED}.",
    pipeline.GATE_DECIDED_BY: "Who decided: the gate policy, or the approving human.",
    pipeline.GATE_REASON: "Why.",
}
# Argo retries a step only when the agent says a retry may help (EXIT_RETRYABLE).
# Ref: https://argo-workflows.readthedocs.io/en/latest/retries/#conditional-retries
RETRY_STRATEGY = {
    "limit": 2,
    "retryPolicy": "OnFailure",
    "expression": f"asInt(lastRetry.exitCode) == {pipeline.EXIT_RETRYABLE}",
    "backoff": {"duration": "15s", "factor": 2, "maxDuration": "5m"},
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
    llm_model: str
    requests: tuple[str, str] = ("100m", "256Mi")
    limits: tuple[str, str] = ("1", "1Gi")
    # (request, limit): the kubelet evicts a pod whose writable layers, logs and emptyDirs
    # outgrow its containers' limits, so the limit leaves room for the whole scratch volume.
    ephemeral_storage: tuple[str, str] = ("256Mi", "3Gi")
    # Bundled mode: the agent's source ConfigMap content (components.bundle.agent_source());
    # None when agent_image already contains the agent (image mode).
    agent_bundle: Bundle | None = None


def _ref(*path: str) -> str:
    """An Argo variable reference: ``_ref("inputs", "parameters", "x")`` is ``{{inputs.parameters.x}}``."""
    return "{{" + ".".join(path) + "}}"


def _param(name: str) -> str:
    return _ref("workflow", "parameters", name)


def artifact_key(step: str, artifact: str) -> str:
    """``<namespace>/<job-id>/<step>/<artifact>.tgz`` (Argo tars and gzips outputs by default)."""
    prefix = pipeline.ARTIFACT_PREFIX.format(
        namespace=_ref("workflow", "namespace"), job_id=_param(pipeline.PARAM_JOB_ID)
    )
    return f"{prefix}{step}/{artifact}.tgz"


def repository_key_format(namespace: str | None = None) -> str:
    """The default repository's ``keyFormat``: ``<namespace>/<job-id>/<pod>`` (the Workflow
    is named by its job id), for what a template stores without a key of its own.

    Argo's default, ``{{workflow.name}}/{{pod.name}}``, lies outside every namespace's
    prefix, where its MinIO user may not write (:mod:`components.tenants`). ``namespace``
    None: the Workflow's own (``{{workflow.namespace}}``, for a repository all share).
    """
    prefix = pipeline.ARTIFACT_PREFIX.format(
        namespace=namespace or _ref("workflow", "namespace"), job_id=_ref("workflow", "name")
    )
    return prefix + _ref("pod", "name")


def _s3(store: ArtifactStore, key: str) -> dict[str, Any]:
    return {
        "endpoint": store.endpoint,
        "bucket": _param(pipeline.PARAM_BUCKET),
        "key": key,
        "insecure": store.insecure,
        "accessKeySecret": {"name": store.secret, "key": store.access_key},
        "secretKeySecret": {"name": store.secret, "key": store.secret_key},
    }


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    # optional: a platform without the Secret still runs (the agent then sends no credential).
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key, "optional": True}}}


def _platform_env(name: str, settings: TemplateSettings) -> dict[str, Any]:
    """The value of one platform variable a step reads (``AgentStep.env``)."""
    if name in CREDENTIAL_KEYS:
        return _secret_env(name, AGENT_CREDENTIALS_SECRET, CREDENTIAL_KEYS[name])
    values = {
        pipeline.ENV_POLICY_DATA: pipeline.POLICY_DATA_PATH,
        pipeline.ENV_BROWSERLESS_URL: settings.browserless_url,
        pipeline.ENV_LITELLM_URL: settings.litellm_url,
        pipeline.ENV_LLM_MODEL: settings.llm_model,
    }
    return {"name": name, "value": values[name]}


def _install(settings: TemplateSettings, mounts: list[dict[str, Any]]) -> dict[str, Any]:
    """Bundled mode's init container: the locked, hashed dependencies into the deps volume.

    It runs the template's default agent image, which in bundled mode is the Python image
    the lock's wheels were chosen for (``components.config.DEFAULT_AGENT_IMAGE``); a
    workload's own ``spec.agentImage`` changes the step's image, never the installer's.
    """
    return {
        "name": "install-agent",
        "image": settings.agent_image,
        "command": ["python", "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check"],
        "args": [
            "--no-input",
            "--no-deps",
            "--only-binary=:all:",
            "--require-hashes",
            "--target",
            AGENT_DEPS_DIR,
            "--requirement",
            f"{AGENT_SOURCE_DIR}/requirements.lock",
        ],
        "env": [{"name": "HOME", "value": pipeline.SCRATCH}],
        "resources": podspec.resources(settings.requests, settings.limits),
        "securityContext": podspec.container_security_context(),
        "volumeMounts": mounts,
    }


def _container(step: pipeline.AgentStep, settings: TemplateSettings) -> dict[str, Any]:
    env: list[dict[str, Any]] = [
        {"name": pipeline.PARAMETER_ENV[p], "value": _ref("inputs", "parameters", p)} for p in step.parameters
    ]
    env += [
        {"name": pipeline.ENV_INPUT_DIR, "value": pipeline.INPUT_DIR},
        {"name": pipeline.ENV_OUTPUT_PARAMETERS, "value": pipeline.OUTPUT_PARAMETERS_DIR},
        {"name": pipeline.ENV_OUTPUT_ARTIFACTS, "value": pipeline.OUTPUT_ARTIFACTS_DIR},
        *(_platform_env(name, settings) for name in step.env),
        _secret_env(pipeline.ENV_DATABASE_URL, DATABASE_SECRET, DATABASE_KEY),
        {"name": "HOME", "value": pipeline.SCRATCH},
    ]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": pipeline.SCRATCH}]
    if pipeline.ENV_POLICY_DATA in step.env:
        policy_dir = pipeline.POLICY_DATA_PATH.rsplit("/", 1)[0]
        mounts.append({"name": "agent-policy", "mountPath": policy_dir, "readOnly": True})
    if settings.agent_bundle is not None:
        env.append({"name": "PATH", "value": BUNDLED_PATH})
        mounts += [
            {"name": "agent-source", "mountPath": AGENT_SOURCE_DIR, "readOnly": True},
            {"name": "agent-deps", "mountPath": AGENT_DEPS_DIR, "readOnly": True},
        ]
    return {
        "image": _param(pipeline.PARAM_AGENT_IMAGE),
        # Explicit command: the emissary executor would otherwise look the entrypoint up
        # in the registry. Ref: https://argo-workflows.readthedocs.io/en/latest/workflow-executors/
        "command": [pipeline.AGENT_COMMAND, step.name],
        "env": env,
        "resources": podspec.resources(
            settings.requests, settings.limits, ephemeral_storage=settings.ephemeral_storage
        ),
        "securityContext": podspec.container_security_context(),
        "volumeMounts": mounts,
    }


def agent_step(step: str, settings: TemplateSettings) -> dict[str, Any]:
    """A container template for one agent step."""
    spec = pipeline.AGENT_STEPS[step]
    store = settings.artifacts
    inputs: dict[str, Any] = {"parameters": [{"name": p} for p in spec.parameters]}
    if spec.reads:
        inputs["artifacts"] = [
            {"name": artifact, "path": pipeline.input_path(artifact)}
            for artifact in (pipeline.AGENT_STEPS[r].artifact for r in spec.reads)
        ]
    outputs: dict[str, Any] = {
        "artifacts": [
            {
                "name": spec.artifact,
                "path": pipeline.output_artifact_path(spec.artifact),
                "s3": _s3(store, artifact_key(step, spec.artifact)),
            }
        ]
    }
    if spec.outputs:
        outputs["parameters"] = [
            {"name": p, "valueFrom": {"path": pipeline.output_parameter_path(p)}} for p in spec.outputs
        ]
    template: dict[str, Any] = {
        "name": step,
        "inputs": inputs,
        "outputs": outputs,
        "retryStrategy": RETRY_STRATEGY,
        "container": _container(spec, settings),
        # Argo names a container template's container "main"; the patch merges over its resources.
        "podSpecPatch": '{"containers":[{"name":"main","resources":' + _param(pipeline.PARAM_RESOURCES) + "}]}",
    }
    if settings.agent_bundle is not None:
        template["initContainers"] = [
            _install(
                settings,
                [
                    {"name": "agent-source", "mountPath": AGENT_SOURCE_DIR, "readOnly": True},
                    {"name": "agent-deps", "mountPath": AGENT_DEPS_DIR},
                    {"name": "tmp", "mountPath": pipeline.SCRATCH},
                ],
            )
        ]
    return template


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
    spec = pipeline.AGENT_STEPS[step]
    task: dict[str, Any] = {
        "name": step,
        "template": step,
        "arguments": {"parameters": [{"name": p, "value": _param(p)} for p in spec.parameters]},
    }
    if dependencies:
        task["dependencies"] = list(dependencies)
    if spec.reads:
        task["arguments"]["artifacts"] = [
            {"name": artifact, "from": _ref("tasks", r, "outputs", "artifacts", artifact)}
            for r, artifact in ((r, pipeline.AGENT_STEPS[r].artifact) for r in spec.reads)
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


def volumes(settings: TemplateSettings) -> list[dict[str, Any]]:
    """Scratch, the policy data, and in bundled mode the agent's source and dependencies."""
    out = [
        podspec.scratch_volume("tmp", SCRATCH_SIZE),
        {
            "name": "agent-policy",
            "configMap": {
                "name": AGENT_POLICY_CONFIGMAP,
                "items": [{"key": POLICY_DATA_KEY, "path": pipeline.POLICY_DATA_PATH.rsplit("/", 1)[1]}],
            },
        },
    ]
    if settings.agent_bundle is not None:
        out += [
            {
                "name": "agent-source",
                "configMap": {"name": AGENT_SOURCE_CONFIGMAP, "items": settings.agent_bundle.items},
            },
            {"name": "agent-deps", "emptyDir": {"sizeLimit": "1Gi"}},
        ]
    return out


def workflow_template(settings: TemplateSettings) -> dict[str, Any]:
    """The ``visual-analysis-template`` WorkflowTemplate (without a namespace)."""
    defaults = {
        pipeline.PARAM_AGENT_IMAGE: settings.agent_image,
        pipeline.PARAM_BUCKET: settings.artifacts.bucket,
        pipeline.PARAM_RESOURCES: "{}",
    }
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
            # No token in the agent's container: Argo mounts the executor's (from the
            # Secret ``<account>.service-account-token``) into its init and wait
            # containers only (workflowpod.go, setupServiceAccount / newExecContainer).
            "serviceAccountName": EXECUTOR_SERVICE_ACCOUNT,
            "automountServiceAccountToken": False,
            "executor": {"serviceAccountName": EXECUTOR_SERVICE_ACCOUNT},
            "podGC": dict(POD_GC),
            "ttlStrategy": dict(TTL_STRATEGY),
            "arguments": {"parameters": arguments},
            "securityContext": podspec.pod_security_context(),
            "volumes": volumes(settings),
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
