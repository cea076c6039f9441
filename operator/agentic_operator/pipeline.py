"""The names the visual-analysis WorkflowTemplate and the operator share.

The Pulumi program renders the template from these names and the operator builds
Workflows, finds the gate and reads step outputs by them: one place to change both.
"""

from __future__ import annotations

# The template's own name is the AgentWorkload default: agentic_operator.api.DEFAULT_TEMPLATE.
ENTRYPOINT = "main"

# Global arguments (``{{workflow.parameters.<name>}}`` inside the template).
PARAM_JOB_ID = "job-id"
PARAM_TARGET_URLS = "target-urls"  # a JSON array of strings
PARAM_OBJECTIVE = "objective"
PARAM_AGENT_IMAGE = "agent-image"
PARAM_BUCKET = "bucket"
WORKFLOW_PARAMETERS = (
    PARAM_JOB_ID,
    PARAM_TARGET_URLS,
    PARAM_OBJECTIVE,
    PARAM_AGENT_IMAGE,
    PARAM_BUCKET,
)

# DAG tasks, in pipeline order; the two extractors run in parallel.
STEP_SCRAPER = "scraper"
STEP_SCREENSHOTS = "screenshot-extractor"
STEP_DOM = "dom-extractor"
STEP_GATE = "approval-gate"
STEP_SYNTHESIS = "synthesis"
STEPS = (STEP_SCRAPER, STEP_SCREENSHOTS, STEP_DOM, STEP_GATE, STEP_SYNTHESIS)

# What the steps before the gate report (output parameters) for the gate policy to weigh.
STEP_OUTPUTS: dict[str, tuple[str, ...]] = {
    STEP_SCRAPER: ("pages-fetched", "pages-failed"),
    STEP_SCREENSHOTS: ("screenshots",),
    STEP_DOM: ("confidence", "elements"),
}

# The gate's supplied output parameters: the operator (or a human through it) sets them
# when it resumes the gate; synthesis runs only `when` the decision is approved.
GATE_DECISION = "decision"
GATE_DECIDED_BY = "decided-by"
GATE_REASON = "reason"
GATE_OUTPUTS = (GATE_DECISION, GATE_DECIDED_BY, GATE_REASON)
APPROVED = "approved"
REJECTED = "rejected"

# Artifacts live under this prefix in the bucket.
ARTIFACT_PREFIX = "job-{job_id}/"
