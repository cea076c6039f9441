"""agentic_operator: reconciles AgentWorkloads into policy-gated Argo Workflows."""
