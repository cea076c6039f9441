"""agentic_agent: the reference agent that does the work of visual-analysis-template's steps.

``agent <step>`` (or ``python -m agentic_agent <step>``) runs one step as
:mod:`agentic_contract.pipeline` describes it; docs/ARCHITECTURE.md ("The agent image")
says what each step reads and writes.
"""

# Written once here: pyproject reads it, the User-Agent carries it, and bundled mode
# (source on sys.path, no package metadata) still knows it.
__version__ = "0.1.0"
