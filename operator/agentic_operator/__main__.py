"""``python -m agentic_operator``: run the operator.

Settings come from ``AGENTIC_*`` environment variables (the Pulumi ``Operator`` component
sets them on the Deployment); the flags below override them for local runs.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
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


CREDENTIALS = "in a pod its service account, elsewhere the current context of $KUBECONFIG or ~/.kube/config"


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
    parser.add_argument("--verbose", action="store_true", help="debug logging (kopf's included)")
    args = vars(parser.parse_args(argv))
    verbose = args.pop("verbose")
    flags = settings.environment({name: value for name, value in args.items() if value is not None})
    return Settings.from_env({**env, **flags}), verbose


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings, verbose = parse_args(argv, dict(os.environ))
    except SettingsError as exc:
        print(f"agentic-operator: {exc}", file=sys.stderr)
        return 2

    import kopf
    from kubernetes.config import ConfigException

    from agentic_operator import runtime

    kopf.configure(
        verbose=verbose, log_format=kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.FULL
    )
    try:
        built = runtime.build(settings)
    except ConfigException as exc:
        print(f"agentic-operator: no Kubernetes credentials: {exc} ({CREDENTIALS})", file=sys.stderr)
        return 2
    logging.getLogger(__name__).info("starting with %s", dataclasses.asdict(settings))
    # kopf stops on SIGINT/SIGTERM itself (the Deployment's terminationGracePeriod applies).
    asyncio.run(runtime.run(built))
    return 0


if __name__ == "__main__":
    sys.exit(main())
