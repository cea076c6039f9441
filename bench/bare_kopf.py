"""The baseline the benchmarks compare with: a bare kopf operator, as thin as kopf allows.

``on.event`` for AgentWorkloads and for the Workflows labelled as ours, one status patch
per event: an AgentWorkload event sets ``status.message`` to ``seen`` (kopf's own patch; a
no-op after the first, which the API server drops), a Workflow event sets the owner's
``status.argoPhase`` and, to the Workflow's resourceVersion, ``status.currentStep`` (fields
the CRD's status schema keeps: a real API server prunes others), through the operator's async client,
the cheapest writer there is, so the comparison measures kopf's per-event machinery and
not a client's. No policy, no cache, no reconcile.

``--tuned`` cuts every per-event cost kopf lets a user cut: logging at WARNING (no
"Handler succeeded" line per event), kopf's Events off, no diff base built per event,
no peering, namespaces not scanned. The architecture decision (docs/ARCHITECTURE.md)
rests on what remains.

    python -m bench.bare_kopf --namespace team-a [--tuned] [--seed]

``--seed`` runs the seed's design instead, for its idle cost: a daemon per AgentWorkload
that wakes every 15-30 s and writes status (``lastReconciled``) each time.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
from collections.abc import Mapping
from typing import Any

import kopf
from kopf._cogs.configs.diffbase import DiffBaseStorage

from agentic_operator import api, argo_names
from agentic_operator.kubeclient import Client, load_config, path
from agentic_operator.timestamps import now_text

registry = kopf.OperatorRegistry()
SEEN = "seen"


def answered(workload: Mapping[str, Any]) -> bool:
    """Whether this operator has answered an AgentWorkload (the benchmarks wait for it)."""
    return bool((workload.get("status") or {}).get("message") == SEEN)


_client: dict[str, Client] = {}


class NoDiffBase(DiffBaseStorage):
    """No diff base: only ``on.event`` handlers are registered, which never read one."""

    def fetch(self, *, body: Any) -> None:
        return None

    def build(self, *, body: Any, extra_fields: Any = None) -> None:  # type: ignore[override]
        return None

    def store(self, *, body: Any, patch: Any, essence: Any) -> None:
        return None


def configure(tuned: bool) -> None:
    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_via_client(**kwargs)  # a registry of one's own has no default login

    @kopf.on.startup(registry=registry)
    async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.scanning.disabled = True
        _client["api"] = Client(load_config(), user_agent="bare-kopf/1", timeout=10)
        if tuned:
            settings.posting.enabled = False
            settings.persistence.diffbase_storage = NoDiffBase()

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        await _client["api"].close()


def handlers() -> None:
    @kopf.on.event(api.GROUP, api.VERSION, api.PLURAL, registry=registry)
    async def workload_event(event: kopf.RawEvent, patch: kopf.Patch, **_: Any) -> None:
        if event.get("type") != "DELETED":
            patch.status["message"] = SEEN

    @kopf.on.event(
        argo_names.GROUP,
        argo_names.VERSION,
        argo_names.WORKFLOWS,
        labels={argo_names.LABEL_MANAGED_BY: argo_names.MANAGER},
        registry=registry,
    )
    async def workflow_event(event: kopf.RawEvent, **_: Any) -> None:
        obj: dict[str, Any] = dict(event["object"])
        meta = obj["metadata"]
        refs: list[dict[str, Any]] = meta.get("ownerReferences") or []
        owner = next((r["name"] for r in refs if r.get("kind") == api.KIND), None)
        if owner is None or event.get("type") == "DELETED":
            return
        status = {"argoPhase": (obj.get("status") or {}).get("phase", ""), "currentStep": meta["resourceVersion"]}
        url = path(api.GROUP, api.VERSION, api.PLURAL, meta["namespace"], owner, "status")
        await _client["api"].patch(url, {"status": status})


def seed_handlers() -> None:
    @kopf.daemon(api.GROUP, api.VERSION, api.PLURAL, registry=registry)
    async def requeue(stopped: kopf.DaemonStopped, name: str, namespace: str | None, **_: Any) -> None:
        """The seed's 15-30 s requeue, with its status write on every pass."""
        url = path(api.GROUP, api.VERSION, api.PLURAL, namespace or "default", name, "status")
        while not stopped:
            await asyncio.sleep(random.uniform(15, 30))
            await _client["api"].patch(url, {"status": {"lastReconciled": now_text()}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--namespace", action="append", required=True)
    parser.add_argument("--tuned", action="store_true")
    parser.add_argument("--seed", action="store_true")
    args = parser.parse_args()
    configure(args.tuned)
    if args.seed:
        seed_handlers()
    else:
        handlers()
    kopf.configure(verbose=False)
    if args.tuned:
        logging.getLogger().setLevel(logging.WARNING)
        logging.getLogger("kopf").setLevel(logging.WARNING)
    asyncio.run(kopf.operator(registry=registry, namespaces=args.namespace, clusterwide=False, standalone=True))


if __name__ == "__main__":
    main()
