"""``python -m agentic_operator``: run the operator.

Settings come from ``AGENTIC_*`` environment variables (the Pulumi ``Operator`` component
sets them on the Deployment); the flags below override them for local runs.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Sequence

from agentic_operator import api, settings
from agentic_operator.settings import Settings, SettingsError

DESCRIPTION = f"""\
Reconcile AgentWorkloads ({api.API_VERSION}) into policy-gated Argo Workflows.

For each AgentWorkload in the watched namespaces the operator asks OPA whether the work
is admitted, creates the Argo Workflow from the WorkflowTemplate, follows it, asks OPA
again at the approval gate and resumes it, waits for a human, or rejects it, mirroring
phase, progress, decisions and artifact locations into the AgentWorkload's status.

Running against a cluster:
  * Credentials: the in-cluster service account, else the current kubeconfig context
    (KUBECONFIG). The CRD must be installed (the Pulumi program does it).
  * Out of cluster, e.g. against kind, with OPA serving the policies on loopback
    (`python -m testkit.opa` in the repository serves them as the sidecar does):
        python -m agentic_operator --namespace team-a --opa-url http://127.0.0.1:8181 \\
            --default-agent-image IMAGE --default-bucket BUCKET
  * Human approval at the gate:
        kubectl -n team-a annotate aw NAME {api.APPROVAL}=approved \\
            {api.APPROVAL_BY}=$USER {api.APPROVAL_REASON}="checked"
    (or =rejected to reject and stop the Workflow).

Environment (each has the flag of its name, e.g. AGENTIC_HTTP_PORT is --http-port; flags override):
{settings.help_text()}
"""


def parse_args(argv: Sequence[str] | None, env: dict[str, str]) -> tuple[Settings, bool]:
    """Settings (environment, overridden by flags) and whether to log verbosely."""
    parser = argparse.ArgumentParser(
        prog="python -m agentic_operator",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for setting in settings.TABLE:
        if setting.repeatable_flag:
            parser.add_argument(setting.flag, action="append", dest=setting.name, help=f"{setting.doc} (repeatable)")
        else:
            parser.add_argument(setting.flag, dest=setting.name, help=setting.doc)
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    args = vars(parser.parse_args(argv))
    verbose = args.pop("verbose")
    flags = settings.environment({name: value for name, value in args.items() if value is not None})
    return Settings.from_env({**env, **flags}), verbose


class _JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line)


def configure_logging(log_format: str, verbose: bool) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        _JsonFormatter()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings, verbose = parse_args(argv, dict(os.environ))
    except SettingsError as exc:
        print(f"agentic-operator: {exc}", file=sys.stderr)
        return 2

    from agentic_operator import runtime
    from agentic_operator.kubeclient import ConfigError

    try:
        operator = runtime.build(settings)
    except ConfigError as exc:
        print(f"agentic-operator: no Kubernetes credentials: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, verbose)
    logging.getLogger(__name__).info("starting with %s", dataclasses.asdict(settings))
    asyncio.run(operator.run())  # until SIGTERM/SIGINT (the Deployment's terminationGracePeriod applies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
