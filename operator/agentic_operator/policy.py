"""The policy engine: the OPA sidecar (``opa run --server``) over its REST API.

:class:`OpaClient` evaluates the package at ``query`` (``agentic.admission``,
``agentic.gate``; see :mod:`agentic_operator.decision`) through the data API, over
aiohttp on the operator's event loop (as :mod:`agentic_operator.kubeclient`). Only OPA decides:
an in-process engine (regopy, rego-cpp) used to stand in for it and disagreed with it
(policies/README.md). To run the policies locally, run OPA: ``python -m testkit.opa``.

Ref: https://www.openpolicyagent.org/docs/rest-api#get-a-document-with-input
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

import aiohttp

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


class OpaClient:
    """An OPA server's data API: ``POST /v1/data/<package path>`` with the input.

    ``timeout`` bounds connecting and each read, in seconds: the sidecar answers in
    milliseconds, so a slow answer means trouble and the caller should retry later
    rather than hold a reconcile. Connections are kept (HTTP/1.1) and opened on the
    running event loop at the first query; a query sent on a kept connection the
    server closed meanwhile is sent once more (the data API has no side effects).
    Redirects are not followed: OPA never redirects, and following one would re-send
    the query as a GET, without input. Proxies from the environment play no part: the
    sidecar is on loopback, and a cluster-wide HTTP_PROXY must not carry policy
    queries away.
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
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> OpaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def evaluate(self, query: str, input: Mapping[str, Any]) -> Decision:
        """Ask OPA for the package at ``query``; :class:`PolicyUnavailable` if it cannot say."""
        _check_query(query)
        url = f"{self.url}/v1/data/{query.replace('.', '/')}"
        body = await self._send(url, json.dumps({"input": input}, allow_nan=False).encode(), query)
        try:
            document = json.loads(body)
        except ValueError:
            raise PolicyUnavailable(f"{self.source}: the answer for {query} is not JSON: {body[:200]!r}") from None
        if not isinstance(document, dict):
            raise PolicyUnavailable(f"{self.source}: the answer for {query} is not a JSON object")
        if "result" not in document:
            raise PolicyUnavailable(f"{self.source}: {query} is undefined (is the policy loaded?)")
        return decision_from_result(query, document["result"], self.source)

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.timeout, sock_read=self.timeout),
            )
        return self._session

    async def _send(self, url: str, body: bytes, query: str) -> bytes:
        for attempt in range(2):
            try:
                async with self._open().post(url, data=body, allow_redirects=False) as response:
                    status, reason = response.status, response.reason or ""
                    payload = await _read(response, _MAX_BODY if status == 200 else _MAX_ERROR)
                break
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as error:
                # a kept connection the server had closed (as aiohttp tells of it for the
                # idempotent requests it retries itself): once more, on a new one
                if attempt == 0 and not isinstance(error, aiohttp.ClientConnectorError):
                    continue
                raise PolicyUnavailable(f"{self.source}: unreachable ({query}): {error!r}") from None
            except TimeoutError:
                raise PolicyUnavailable(f"{self.source}: no answer for {query} within {self.timeout}s") from None
            except (OSError, aiohttp.ClientError) as error:  # refused, resets, garbage
                raise PolicyUnavailable(f"{self.source}: unreachable ({query}): {error!r}") from None
        if status >= 400:
            raise PolicyUnavailable(f"{self.source}: HTTP {status} for {query}: {_opa_error(payload, reason)}")
        if status != 200:
            raise PolicyUnavailable(f"{self.source}: HTTP {status} for {query}, expected 200")
        if len(payload) > _MAX_BODY:
            raise PolicyUnavailable(f"{self.source}: the answer for {query} is larger than {_MAX_BODY} bytes")
        return payload


async def _read(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, or its first ``limit + 1`` bytes: enough to tell that it is too large."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(1 << 16):
        body += chunk
        if len(body) > limit:
            break
    return bytes(body[: limit + 1])


def _opa_error(raw: bytes, reason: str) -> str:
    """OPA's own error (``{"code", "message", "errors": [{"code", "message"}, ...]}``, the
    evaluation errors in ``errors``), else the raw body."""
    try:
        body = json.loads(raw)
        message = "; ".join([body["message"], *(f"{e['code']}: {e['message']}" for e in body.get("errors", []))])
    except (ValueError, TypeError, KeyError, AttributeError):
        message = None
    return message or raw.decode(errors="replace")[:200] or reason


def policy_from_settings(settings: Settings) -> Policy:
    """The OPA server at ``opa_url``, with the configured per-query timeout."""
    return OpaClient(settings.opa_url, timeout=settings.opa_timeout_seconds)
