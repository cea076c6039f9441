"""WorkflowManager: the pure Argo logic of :mod:`agentic_operator.argo` over the Kubernetes API.

Writes follow Argo's CLI: create is idempotent (the name is deterministic), resume is a
read-modify-write of the whole object carrying ``resourceVersion`` and retried on 409
Conflict with a fresh read, stop is a merge patch of ``spec.shutdown``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from agentic_operator import argo
from agentic_operator.argo_names import GROUP, VERSION, WORKFLOW_TEMPLATES, WORKFLOWS

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


def _status(exc: BaseException) -> int | None:
    return getattr(exc, "status", None)


class WorkflowManager:
    """Create, read, resume and stop Workflows through a CustomObjectsApi (``objects``).

    ``api_exception`` is the exception class the client raises (``kubernetes.client.
    exceptions.ApiException``); passing it keeps this module free of the client import so
    tests can use any fake that raises something with ``status`` and ``body``.
    """

    def __init__(
        self,
        objects: Any,
        api_exception: type[Exception],
        *,
        conflict_retries: int = 5,
        backoff: Callable[[int], float] = lambda attempt: 0.01 * attempt,
        sleep: Callable[[float], None] = time.sleep,
        request_timeout: float = 10.0,
    ) -> None:
        self._objects = objects
        self._api_exception = api_exception
        self._retries = conflict_retries
        self._backoff = backoff
        self._sleep = sleep
        self._timeout = request_timeout

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Workflow, or None when it does not exist."""
        try:
            obj = self._objects.get_namespaced_custom_object(
                GROUP, VERSION, namespace, WORKFLOWS, name, _request_timeout=self._timeout
            )
        except self._api_exception as exc:
            if _status(exc) == 404:
                return None
            raise
        return dict(obj)

    def check_template(self, namespace: str, name: str) -> None:
        """Raise :class:`TemplateNotFoundError` unless the WorkflowTemplate exists there.

        A Workflow's ``workflowTemplateRef`` (without ``clusterScope``) resolves in the
        Workflow's own namespace.
        """
        try:
            self._objects.get_namespaced_custom_object(
                GROUP, VERSION, namespace, WORKFLOW_TEMPLATES, name, _request_timeout=self._timeout
            )
        except self._api_exception as exc:
            if _status(exc) == 404:
                raise TemplateNotFoundError(
                    f"WorkflowTemplate {name!r} not found in namespace {namespace!r} (spec.workflowTemplateRef.name)"
                ) from None
            raise

    def create(self, workload: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        """Create the workload's Workflow (``body``, from the reconcile core), or return the one it has.

        AlreadyExists is success when the existing Workflow's controller reference is this
        workload (by uid): a retry or an operator restart never makes a second Workflow.
        """
        namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
        try:
            return dict(
                self._objects.create_namespaced_custom_object(
                    GROUP, VERSION, namespace, WORKFLOWS, dict(body), _request_timeout=self._timeout
                )
            )
        except self._api_exception as exc:
            if _status(exc) != 409:
                raise
        existing = self.get(namespace, name)
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

    def resume(
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
            workflow = self.get(namespace, name)
            if workflow is None:
                raise WorkflowNotFoundError(f"Workflow {namespace}/{name} not found")
            if not argo.can_resume(workflow, node_selector):
                return None
            body = argo.resume(workflow, node_selector=node_selector, outputs=outputs, message=message)
            try:
                return dict(
                    self._objects.replace_namespaced_custom_object(
                        GROUP, VERSION, namespace, WORKFLOWS, name, body, _request_timeout=self._timeout
                    )
                )
            except self._api_exception as exc:
                if _status(exc) != 409 or attempt == self._retries:
                    raise
                log.info("resume of %s/%s conflicted (attempt %d); reading again", namespace, name, attempt)
                self._sleep(self._backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self, namespace: str, name: str) -> dict[str, Any] | None:
        """``argo stop``: the patched Workflow, or None when it is gone or done."""
        workflow = self.get(namespace, name)
        if workflow is None or argo.workflow_status(workflow).completed:
            return None
        try:
            return dict(
                self._objects.patch_namespaced_custom_object(
                    GROUP, VERSION, namespace, WORKFLOWS, name, argo.stop(), _request_timeout=self._timeout
                )
            )
        except self._api_exception as exc:
            if _status(exc) == 404:
                return None
            raise
