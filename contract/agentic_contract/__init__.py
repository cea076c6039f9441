"""The contract between the visual-analysis WorkflowTemplate, the operator and the agent.

:mod:`agentic_contract.pipeline` is the one place that names the pipeline's steps,
parameters, environment variables, paths, artifacts and output parameters. It imports
only the standard library, so the operator (its ConfigMap bundle or image) and the agent
(its bundle or image) each carry it without the other's dependencies.
"""
