"""agentic_operator: reconciles AgentWorkloads into policy-gated Argo Workflows."""

# The one place the version is written: pyproject reads it, and the operator reports it
# (User-Agent) without package metadata, which bundled mode (source on PYTHONPATH) lacks.
__version__ = "0.1.0"
