"""The visual-analysis pipeline's contract: every name, path and code three parties share.

- ``components.template`` renders the WorkflowTemplate from it (tasks, parameters, the
  environment and paths of each agent step, artifacts, output parameters, retries);
- the operator builds Workflows, finds the gate and reads step outputs by it;
- the agent (``agentic_agent``) reads its inputs and writes its outputs by it.

Standard library only: both the operator and the agent carry this package (bundled or
in an image) without the other's dependencies. The agent's side of the contract is
documented in docs/ARCHITECTURE.md ("The agent image").
"""

from __future__ import annotations

from dataclasses import dataclass

# The template's own name is the AgentWorkload default: agentic_operator.api.DEFAULT_TEMPLATE
# (a workload may name another template; the agent never needs it).
ENTRYPOINT = "main"

# Global arguments (``{{workflow.parameters.<name>}}`` inside the template).
PARAM_JOB_ID = "job-id"
PARAM_TARGET_URLS = "target-urls"  # a JSON array of strings
PARAM_OBJECTIVE = "objective"
PARAM_AGENT_IMAGE = "agent-image"
PARAM_BUCKET = "bucket"
# The agent steps' main-container requests and limits, as JSON (``{}``: the template's own).
# The template feeds it into its own podSpecPatch: Argo refuses a Workflow's own
# podSpecPatch under ``templateReferencing: Strict`` or ``Secure``.
PARAM_RESOURCES = "resources"
WORKFLOW_PARAMETERS = (
    PARAM_JOB_ID,
    PARAM_TARGET_URLS,
    PARAM_OBJECTIVE,
    PARAM_AGENT_IMAGE,
    PARAM_BUCKET,
    PARAM_RESOURCES,
)

# DAG tasks, in pipeline order; the two extractors run in parallel.
STEP_SCRAPER = "scraper"
STEP_SCREENSHOTS = "screenshot-extractor"
STEP_DOM = "dom-extractor"
STEP_GATE = "approval-gate"
STEP_SYNTHESIS = "synthesis"
STEPS = (STEP_SCRAPER, STEP_SCREENSHOTS, STEP_DOM, STEP_GATE, STEP_SYNTHESIS)

# Artifacts, one per agent step.
ARTIFACT_PAGES = "pages"
ARTIFACT_IMAGES = "images"
ARTIFACT_DOM = "dom"
ARTIFACT_REPORT = "report"

# Output parameters of the steps before the gate: what the gate policy weighs
# (policies/gate.rego lists the same names; tests/policy checks they agree).
OUT_PAGES_FETCHED = "pages-fetched"
OUT_PAGES_FAILED = "pages-failed"
OUT_SCREENSHOTS = "screenshots"
OUT_CONFIDENCE = "confidence"
OUT_ELEMENTS = "elements"


# Environment variables the template sets and the agent reads.
PARAMETER_ENV = {
    PARAM_JOB_ID: "AGENT_JOB_ID",
    PARAM_TARGET_URLS: "AGENT_TARGET_URLS",
    PARAM_OBJECTIVE: "AGENT_OBJECTIVE",
}
ENV_INPUT_DIR = "AGENT_INPUT_DIR"
ENV_OUTPUT_ARTIFACTS = "AGENT_OUTPUT_ARTIFACTS"
ENV_OUTPUT_PARAMETERS = "AGENT_OUTPUT_PARAMETERS"
ENV_POLICY_DATA = "AGENT_POLICY_DATA"
ENV_BROWSERLESS_URL = "BROWSERLESS_URL"
ENV_LITELLM_URL = "LITELLM_URL"
ENV_LLM_MODEL = "AGENT_LLM_MODEL"
ENV_DATABASE_URL = "DATABASE_URL"
# Credentials, from optional secretKeyRefs only (never parameters or plain values).
ENV_BROWSERLESS_TOKEN = "BROWSERLESS_TOKEN"
ENV_LITELLM_API_KEY = "LITELLM_API_KEY"


@dataclass(frozen=True)
class AgentStep:
    """One step the agent runs: what it is given and what it must produce.

    ``parameters`` are the workflow parameters it receives (each as the environment
    variable ``PARAMETER_ENV[p]``); ``reads`` the earlier steps whose artifact it
    receives under ``INPUT_DIR``; ``artifact`` the one directory it writes under
    ``OUTPUT_ARTIFACTS_DIR``; ``outputs`` the output parameter files it writes under
    ``OUTPUT_PARAMETERS_DIR``; ``env`` the platform's variables it reads besides those
    every step gets (a step is given only what it uses: no model key for the scraper).
    """

    name: str
    parameters: tuple[str, ...]
    reads: tuple[str, ...]
    artifact: str
    outputs: tuple[str, ...] = ()
    env: tuple[str, ...] = ()


AGENT_STEPS: dict[str, AgentStep] = {
    step.name: step
    for step in (
        AgentStep(
            STEP_SCRAPER,
            (PARAM_JOB_ID, PARAM_TARGET_URLS, PARAM_OBJECTIVE),
            (),
            ARTIFACT_PAGES,
            (OUT_PAGES_FETCHED, OUT_PAGES_FAILED),
            (ENV_POLICY_DATA,),
        ),
        AgentStep(
            STEP_SCREENSHOTS,
            (PARAM_JOB_ID, PARAM_OBJECTIVE),
            (STEP_SCRAPER,),
            ARTIFACT_IMAGES,
            (OUT_SCREENSHOTS,),
            (ENV_POLICY_DATA, ENV_BROWSERLESS_URL, ENV_BROWSERLESS_TOKEN),
        ),
        AgentStep(
            STEP_DOM, (PARAM_JOB_ID, PARAM_OBJECTIVE), (STEP_SCRAPER,), ARTIFACT_DOM, (OUT_CONFIDENCE, OUT_ELEMENTS)
        ),
        AgentStep(
            STEP_SYNTHESIS,
            (PARAM_JOB_ID, PARAM_OBJECTIVE),
            (STEP_SCRAPER, STEP_SCREENSHOTS, STEP_DOM),
            ARTIFACT_REPORT,
            (),
            (ENV_LITELLM_URL, ENV_LLM_MODEL, ENV_LITELLM_API_KEY),
        ),
    )
}

# What the steps before the gate report (output parameters) for the gate policy to weigh.
STEP_OUTPUTS: dict[str, tuple[str, ...]] = {name: step.outputs for name, step in AGENT_STEPS.items() if step.outputs}

# The gate's supplied output parameters: the operator (or a human through it) sets them
# when it resumes the gate; synthesis runs only `when` the decision is approved.
GATE_DECISION = "decision"
GATE_DECIDED_BY = "decided-by"
GATE_REASON = "reason"
GATE_OUTPUTS = (GATE_DECISION, GATE_DECIDED_BY, GATE_REASON)
APPROVED = "approved"
REJECTED = "rejected"

# Artifacts live under this prefix in the bucket: the workload's namespace first, so one
# team's keys never meet another's (each namespace's MinIO user may use only its own).
ARTIFACT_PREFIX = "{namespace}/{job_id}/"

# ---------------------------------------------------------------------------------------
# The agent's side: how a step is run, where it reads and writes.

AGENT_COMMAND = "agent"  # run as `agent <step>`
SCRATCH = "/tmp"  # the one writable place (an emptyDir); HOME points here too
INPUT_DIR = f"{SCRATCH}/inputs"  # input artifacts: INPUT_DIR/<artifact>/
OUTPUT_ARTIFACTS_DIR = f"{SCRATCH}/outputs/artifacts"  # OUTPUT_ARTIFACTS_DIR/<artifact>/
OUTPUT_PARAMETERS_DIR = f"{SCRATCH}/outputs/parameters"  # OUTPUT_PARAMETERS_DIR/<name>
# The admission policy's data (policies/data.json with the stack's overrides): the agent
# refuses the same networks at fetch time that admission refuses in the spec.
POLICY_DATA_PATH = "/etc/agentic/policy/data.json"

# Exit codes (sysexits.h), so that Argo's retryStrategy retries only what may succeed
# on a second try; the one-line reason goes to the container's termination message.
EXIT_OK = 0
EXIT_FAILED = 65  # EX_DATAERR: the inputs cannot give a result; retrying will not help
EXIT_RETRYABLE = 75  # EX_TEMPFAIL: a peer was unavailable or slow; a retry may succeed
EXIT_CONFIG = 78  # EX_CONFIG: the step is misconfigured (environment, policy data)
TERMINATION_LOG = "/dev/termination-log"


def input_path(artifact: str) -> str:
    """Where a step receives an earlier step's artifact (a directory)."""
    return f"{INPUT_DIR}/{artifact}"


def output_artifact_path(artifact: str) -> str:
    """Where a step leaves its artifact (a directory Argo tars and uploads)."""
    return f"{OUTPUT_ARTIFACTS_DIR}/{artifact}"


def output_parameter_path(name: str) -> str:
    """The file whose content Argo reads as the output parameter ``name``."""
    return f"{OUTPUT_PARAMETERS_DIR}/{name}"
