"""Argo Workflows' API coordinates and the labels the operator puts on its Workflows.

Names only, no behaviour: the Pulumi components (RBAC rules, the WorkflowTemplate) and
the runtime import them without importing :mod:`agentic_operator.argo`.
Ref: https://argo-workflows.readthedocs.io/en/latest/fields/
"""

from __future__ import annotations

GROUP = "argoproj.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
WORKFLOWS = "workflows"
WORKFLOW_TEMPLATES = "workflowtemplates"

# The operator watches only Workflows with this label (``managed-by=agentic-operator``).
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "agentic-operator"
LABEL_JOB_ID = "agentic.dev/job-id"
ANNOTATION_WORKLOAD = "agentic.dev/workload"
