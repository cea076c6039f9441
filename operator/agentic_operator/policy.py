"""The policy engine: the OPA sidecar (``opa run --server``) over its REST API.

:class:`OpaClient` evaluates the package at ``query`` (``agentic.admission``,
``agentic.gate``; see :mod:`agentic_operator.decision`) through the data API, with the
standard library only: the bundled operator installs nothing more. Only OPA decides:
an in-process engine (regopy, rego-cpp) used to stand in for it and disagreed with it
(policies/README.md). To run the policies locally, run OPA: ``python -m testkit.opa``.

Ref: https://www.openpolicyagent.org/docs/rest-api#get-a-document-with-input
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from agentic_operator.decision import Decision, Policy, PolicyUnavailable
from agentic_operator.settings import Settings

_QUERY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
# An OPA answer is a few kilobytes; anything far larger is not OPA.
_MAX_BODY = 1 << 20
# An error body with OPA's stack traces is a few kilobytes more.
_MAX_ERROR = 1 << 16


def _check_query(query: str) -> None:
    if not _QUERY.match(query):
        raise ValueError(f"not a Rego package path: {query!r}")


def decision_from_result(query: str, result: Any, source: str) -> Decision:
    """A package document (``allow``, ``deny``, ``reasons``) as a :class:`Decision`.

    ``reasons`` are the union of ``deny`` and ``reasons``, sorted. An ``allow`` that is
    not a boolean, or reasons that are not strings, mean the policy itself is broken:
    that is a decision (not allowed, saying why), not a reason to ask again, because
    asking again gives the same answer. An undefined ``allow`` is different: the package
    is not (yet) loaded, so :class:`PolicyUnavailable` is raised.
    """
    if not isinstance(result, Mapping):
        return _broken(query, f"the document is {type(result).__name__}, not an object", source)
    if "allow" not in result:
        raise PolicyUnavailable(f"{source}: {query}.allow is undefined (is the policy loaded?)")
    allow = result["allow"]
    if not isinstance(allow, bool):
        return _broken(query, f"{query}.allow is {json.dumps(allow)}, not a boolean", source)
    reasons: set[str] = set()
    for key in ("deny", "reasons"):
        value = result.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return _broken(query, f"{query}.{key} is not a set of strings", source)
        reasons.update(value)
    return Decision(allowed=allow, reasons=tuple(sorted(reasons)), source=source)


def _broken(query: str, problem: str, source: str) -> Decision:
    return Decision(
        allowed=False,
        reasons=(f"policy error in {query}: {problem}; not allowed (fail closed)",),
        source=source,
    )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """OPA never redirects; following one would re-send the query as a GET, without input."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class OpaClient:
    """An OPA server's data API: ``POST /v1/data/<package path>`` with the input.

    ``timeout`` bounds connecting and each read, in seconds: the sidecar answers in
    milliseconds, so a slow answer means trouble and the caller should retry later
    rather than hold a reconcile. Proxies from the environment are ignored: the sidecar
    is on loopback, and a cluster-wide HTTP_PROXY must not carry policy queries away.
    """

    def __init__(self, url: str, *, timeout: float = 2.0) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"OPA URL must be http(s)://host[:port], not {url!r}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, not {timeout}")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.source = f"opa:{self.url}"
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())

    def evaluate(self, query: str, input: Mapping[str, Any]) -> Decision:
        """Ask OPA for the package at ``query``; :class:`PolicyUnavailable` if it cannot say."""
        _check_query(query)
        request = urllib.request.Request(
            f"{self.url}/v1/data/{query.replace('.', '/')}",
            data=json.dumps({"input": input}, allow_nan=False).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            method="POST",
        )
        body = self._send(request, query)
        try:
            document = json.loads(body)
        except ValueError:
            raise PolicyUnavailable(f"{self.source}: the answer for {query} is not JSON: {body[:200]!r}") from None
        if not isinstance(document, dict):
            raise PolicyUnavailable(f"{self.source}: the answer for {query} is not a JSON object")
        if "result" not in document:
            raise PolicyUnavailable(f"{self.source}: {query} is undefined (is the policy loaded?)")
        return decision_from_result(query, document["result"], self.source)

    def _send(self, request: urllib.request.Request, query: str) -> bytes:
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status: int = response.status
                body: bytes = response.read(_MAX_BODY + 1)
        except urllib.error.HTTPError as error:
            raise PolicyUnavailable(f"{self.source}: HTTP {error.code} for {query}: {_opa_error(error)}") from None
        except (OSError, http.client.HTTPException) as error:  # URLError, timeouts, resets
            reason = error.reason if isinstance(error, urllib.error.URLError) else error
            if isinstance(reason, TimeoutError):
                raise PolicyUnavailable(f"{self.source}: no answer for {query} within {self.timeout}s") from None
            raise PolicyUnavailable(f"{self.source}: unreachable ({query}): {reason!r}") from None
        if status != 200:
            raise PolicyUnavailable(f"{self.source}: HTTP {status} for {query}, expected 200")
        if len(body) > _MAX_BODY:
            raise PolicyUnavailable(f"{self.source}: the answer for {query} is larger than {_MAX_BODY} bytes")
        return body


def _opa_error(error: urllib.error.HTTPError) -> str:
    """OPA's own error (``{"code", "message", "errors": [{"code", "message"}, ...]}``, the
    evaluation errors in ``errors``), else the raw body."""
    raw = error.read(_MAX_ERROR)
    try:
        body = json.loads(raw)
        message = "; ".join([body["message"], *(f"{e['code']}: {e['message']}" for e in body.get("errors", []))])
    except (ValueError, TypeError, KeyError, AttributeError):
        message = None
    return message or raw.decode(errors="replace")[:200] or str(error.reason)


def policy_from_settings(settings: Settings) -> Policy:
    """The OPA server at ``opa_url``, with the configured per-query timeout."""
    return OpaClient(settings.opa_url, timeout=settings.opa_timeout_seconds)
