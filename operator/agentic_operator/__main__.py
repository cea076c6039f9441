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

from agentic_operator.settings import Settings, SettingsError

DESCRIPTION = """\
Reconcile AgentWorkloads (agentic.dev/v1alpha1) into policy-gated Argo Workflows.

For each AgentWorkload in the watched namespaces the operator asks OPA whether the work
is admitted, creates the Argo Workflow from the WorkflowTemplate, follows it, asks OPA
again at the approval gate and resumes it, waits for a human, or rejects it, mirroring
phase, progress, decisions and artifact locations into the AgentWorkload's status.

Running against a cluster:
  * Credentials: the in-cluster service account, else the current kubeconfig context
    (KUBECONFIG). The CRD must be installed (the Pulumi program does it).
  * Out of cluster, e.g. against kind, with policies evaluated in-process (needs the
    'embedded' extra, regopy) instead of an OPA sidecar:
        python -m agentic_operator --namespace team-a --policy-dir ./policies
  * Human approval at the gate:
        kubectl -n team-a annotate aw NAME agentic.dev/approval=approved \\
            agentic.dev/approval-by=$USER agentic.dev/approval-reason="checked"
    (or =rejected to reject and stop the Workflow).

Environment (flags override):
  AGENTIC_NAMESPACES            comma-separated namespaces to watch   [default]
  AGENTIC_OPA_URL               OPA REST API                         [http://127.0.0.1:8181]
  AGENTIC_OPA_TIMEOUT_SECONDS   per-query timeout                    [2]
  AGENTIC_API_TIMEOUT_SECONDS   per-request Kubernetes API timeout    [10]
  AGENTIC_POLICY_DIR            evaluate these .rego files in-process instead of OPA
  AGENTIC_DEFAULT_AGENT_IMAGE   agent image when spec.agentImage is unset
  AGENTIC_DEFAULT_BUCKET        artifact bucket when spec.minioBucket is unset
  AGENTIC_RESYNC_SECONDS        safety-net resync interval           [300]
  AGENTIC_WORKERS               concurrent reconciles                [4]
  AGENTIC_HTTP_PORT             /healthz, /readyz, /metrics          [8080]
  AGENTIC_LOG_FORMAT            json or text                         [json]
"""


def parse_args(argv: Sequence[str] | None, env: dict[str, str]) -> tuple[Settings, bool]:
    """Settings (environment, overridden by flags) and whether to log verbosely."""
    parser = argparse.ArgumentParser(
        prog="python -m agentic_operator",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--namespace", action="append", dest="namespaces", help="namespace to watch (repeatable)")
    parser.add_argument("--opa-url", help="OPA REST API base URL")
    parser.add_argument("--policy-dir", help="evaluate the Rego files in this folder in-process")
    parser.add_argument("--resync-seconds", type=float, help="safety-net resync interval")
    parser.add_argument("--workers", type=int, help="concurrent reconciles")
    parser.add_argument("--http-port", type=int, help="port for /healthz, /readyz and /metrics")
    parser.add_argument("--log-format", choices=("json", "text"))
    parser.add_argument("--verbose", action="store_true", help="debug logging (kopf's included)")
    args = parser.parse_args(argv)
    overrides = {
        "NAMESPACES": ",".join(args.namespaces) if args.namespaces else None,
        "OPA_URL": args.opa_url,
        "POLICY_DIR": args.policy_dir,
        "RESYNC_SECONDS": args.resync_seconds,
        "WORKERS": args.workers,
        "HTTP_PORT": args.http_port,
        "LOG_FORMAT": args.log_format,
    }
    env = {**env, **{f"AGENTIC_{k}": str(v) for k, v in overrides.items() if v is not None}}
    return Settings.from_env(env), args.verbose


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings, verbose = parse_args(argv, dict(os.environ))
    except SettingsError as exc:
        print(f"agentic-operator: {exc}", file=sys.stderr)
        return 2

    import kopf

    from agentic_operator import runtime

    kopf.configure(
        verbose=verbose, log_format=kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.FULL
    )
    logging.getLogger(__name__).info("starting with %s", dataclasses.asdict(settings))

    # kopf stops on SIGINT/SIGTERM itself (the Deployment's terminationGracePeriod applies).
    asyncio.run(runtime.run(runtime.build(settings)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
