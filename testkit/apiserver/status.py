"""API errors as the API server reports them: a ``Status`` object with a code and a reason.

Errors are kmock's own ``KubernetesError`` (status, reason, message, details), so the harness
and kmock speak of them the same way; ``body()`` renders one as the ``Status`` dict that both
an error response and a watch stream's ``ERROR`` event carry. Clients read ``reason`` and
``code``: kopf maps 409/422/404 to its own exceptions, the official client to
``ConflictException``, ``UnprocessableEntityException``, ``NotFoundException``.
"""

from __future__ import annotations

from typing import Any

import kmock

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def error(code: int, message: str, *, reason: str | None = None, **details: Any) -> kmock.KubernetesError:
    """An API error; ``details`` become the Status's ``details`` (name, group, kind, causes...)."""
    return kmock.KubernetesError(
        status=code, reason=reason or REASONS.get(code, "Unknown"), message=message, details=details
    )


def body(exc: kmock.KubernetesError) -> dict[str, Any]:
    """The ``Status`` object for an error, as in a response body or a watch ``ERROR`` event."""
    return {
        "apiVersion": "v1",
        "kind": "Status",
        "metadata": {},
        "status": "Failure",
        "message": exc.message,
        "reason": exc.reason,
        "details": exc.details or {},
        "code": exc.status,
    }


def headers(exc: kmock.KubernetesError) -> dict[str, str]:
    """The response headers of an error: ``Retry-After`` when the Status asks for a wait, as
    the API server sends it (``apiserver/pkg/endpoints/handlers/responsewriters``)."""
    seconds = (exc.details or {}).get("retryAfterSeconds")
    return {} if seconds is None else {"Retry-After": str(seconds)}
