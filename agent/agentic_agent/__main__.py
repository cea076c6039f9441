"""``agent <step>`` / ``python -m agentic_agent <step>``: run one step of the pipeline.

Exit codes (``agentic_contract.pipeline``): 0 done; 65 the inputs cannot give a result;
75 a peer was unavailable or slow, a retry may succeed; 78 misconfigured (environment or
policy data). On failure the one-line reason is the last line on stderr and the
container's termination message (``/dev/termination-log``), which Kubernetes reports in
the container status.

Each step's environment is documented in docs/ARCHITECTURE.md ("The agent image").
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import cast

from agentic_agent import __version__
from agentic_agent.config import Env
from agentic_agent.errors import StepError
from agentic_contract import pipeline

# The module that runs each step, imported only when that step runs: the scraper does
# not need a browser driver, nor the screenshot step a model client.
MODULES = {
    pipeline.STEP_SCRAPER: "agentic_agent.scraper",
    pipeline.STEP_SCREENSHOTS: "agentic_agent.screenshots",
    pipeline.STEP_DOM: "agentic_agent.dom",
    pipeline.STEP_SYNTHESIS: "agentic_agent.synthesis",
}
log = logging.getLogger("agentic_agent")

StepRun = Callable[[Env], Mapping[str, str]]


def step_runner(step: str) -> StepRun:
    return cast(StepRun, importlib.import_module(MODULES[step]).run)


def _report(reason: str, termination_log: Path) -> None:
    print(f"agent: {reason}", file=sys.stderr)
    with contextlib.suppress(OSError):  # not in a pod (or not writable): stderr has it
        termination_log.write_text(reason[:4000])  # Kubernetes keeps at most 4096 bytes


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agent", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("step", choices=sorted(MODULES))
    parser.add_argument("--version", action="version", version=f"agentic-agent {__version__}")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {args.step} %(levelname)s %(message)s")
    # httpx logs every request line at INFO, with full URLs (a Browserless token rides in one).
    for noisy in ("httpx", "httpcore", "openai", "httpx2", "httpcore2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    env = Env(environ)
    termination_log = Path(env.text("AGENT_TERMINATION_LOG", pipeline.TERMINATION_LOG))
    try:
        outputs = step_runner(args.step)(env)
    except StepError as error:
        _report(error.reason, termination_log)
        return error.code
    except Exception as error:  # a bug: the traceback goes to the log, only its kind to the message
        log.exception("unexpected failure")
        _report(f"internal error: {type(error).__name__}", termination_log)
        return pipeline.EXIT_FAILED
    log.info("done: %s", ", ".join(f"{k}={v}" for k, v in outputs.items()) or "no output parameters")
    return pipeline.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
