"""WorkflowManager: the pure Argo logic of :mod:`agentic_operator.argo` over the Kubernetes API.

Writes follow Argo's CLI: create is idempotent (the name is deterministic), resume is a
read-modify-write of the whole object carrying ``resourceVersion`` and retried on 409
Conflict with a fresh read, stop is a merge patch of ``spec.shutdown``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from agentic_operator import argo
from agentic_operator.argo_names import GROUP, VERSION, WORKFLOW_TEMPLATES, WORKFLOWS
from agentic_operator.kubeclient import ApiError, Requests, path

log = logging.getLogger(__name__)


class WorkflowConflictError(argo.ArgoError):
    """A Workflow with our name exists but belongs to something else."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        # True when the owner is an earlier incarnation of the same workload that the
        # garbage collector is still deleting: waiting resolves it.
        self.transient = transient


class TemplateNotFoundError(argo.ArgoError):
    """The referenced WorkflowTemplate does not exist in the namespace."""


class WorkflowNotFoundError(argo.ArgoError):
    """The Workflow to act on does not exist (any more)."""


def _url(namespace: str, name: str | None = None, plural: str = WORKFLOWS) -> str:
    return path(GROUP, VERSION, plural, namespace, name)


class WorkflowManager:
    """Create, read, resume and stop Workflows through the operator's API client."""

    def __init__(
        self,
        client: Requests,
        *,
        conflict_retries: int = 5,
        backoff: Callable[[int], float] = lambda attempt: 0.01 * attempt,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self._retries = conflict_retries
        self._backoff = backoff
        self._sleep = sleep

    async def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Workflow, or None when it does not exist."""
        try:
            return dict(await self._client.get(_url(namespace, name)))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def check_template(self, namespace: str, name: str) -> None:
        """Raise :class:`TemplateNotFoundError` unless the WorkflowTemplate exists there.

        A Workflow's ``workflowTemplateRef`` (without ``clusterScope``) resolves in the
        Workflow's own namespace.
        """
        try:
            await self._client.get(_url(namespace, name, WORKFLOW_TEMPLATES))
        except ApiError as exc:
            if exc.status == 404:
                raise TemplateNotFoundError(
                    f"WorkflowTemplate {name!r} not found in namespace {namespace!r} (spec.workflowTemplateRef.name)"
                ) from None
            raise

    async def create(self, workload: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        """Create the workload's Workflow (``body``, from the reconcile core), or return the one it has.

        AlreadyExists is success when the existing Workflow's controller reference is this
        workload (by uid): a retry or an operator restart never makes a second Workflow.
        """
        namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
        try:
            return dict(await self._client.create(_url(namespace), body))
        except ApiError as exc:
            if exc.status != 409:
                raise
        existing = await self.get(namespace, name)
        if existing is None:  # deleted between our create and get: let the caller retry
            raise WorkflowConflictError(f"Workflow {namespace}/{name} was deleted while being created", transient=True)
        if argo.is_owned_by(existing, workload):
            return existing
        stale = argo.is_owned_by_namesake(existing, workload)
        raise WorkflowConflictError(
            f"Workflow {namespace}/{name} already exists and belongs to "
            + (
                "an earlier AgentWorkload of the same name that is still being deleted"
                if stale
                else "something else: choose another spec.jobId"
            ),
            transient=stale,
        )

    async def resume(
        self,
        namespace: str,
        name: str,
        *,
        node_selector: str | None = None,
        outputs: Mapping[str, str] | None = None,
        message: str | None = None,
    ) -> dict[str, Any] | None:
        """Resume as ``argo resume`` does: the updated Workflow, or None (and no write) when
        nothing is suspended.

        Each attempt reads the Workflow afresh and replaces it whole with the read
        ``resourceVersion``: a 409 means someone (usually Argo's controller) wrote in
        between, so the change is rebuilt on the newer object rather than lost.
        """
        for attempt in range(1, self._retries + 1):
            workflow = await self.get(namespace, name)
            if workflow is None:
                raise WorkflowNotFoundError(f"Workflow {namespace}/{name} not found")
            if not argo.can_resume(workflow, node_selector):
                return None
            body = argo.resume(workflow, node_selector=node_selector, outputs=outputs, message=message)
            try:
                return dict(await self._client.replace(_url(namespace, name), body))
            except ApiError as exc:
                if exc.status != 409 or attempt == self._retries:
                    raise
                log.info("resume of %s/%s conflicted (attempt %d); reading again", namespace, name, attempt)
                await self._sleep(self._backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def stop(self, namespace: str, name: str) -> dict[str, Any] | None:
        """``argo stop``: the patched Workflow, or None when it is gone or done."""
        workflow = await self.get(namespace, name)
        if workflow is None or argo.workflow_status(workflow).completed:
            return None
        try:
            return dict(await self._client.patch(_url(namespace, name), argo.stop()))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
