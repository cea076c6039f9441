"""An asynchronous Kubernetes API client: login, JSON requests, watch streams.

Why not the official ``kubernetes`` package: it is synchronous, so the operator ran it in
worker threads, and a profile of 2,000 workloads put a third of the CPU into it (urllib3's
pool, ``email.parser`` header parsing, pydantic ``validate_call`` wrappers; see
docs/ARCHITECTURE.md). This client is aiohttp (already the HTTP server's library) with
plain dicts in and out, and only what the operator uses:

- login as client-go does it: in a Pod, the ServiceAccount token file, re-read when it
  changes (kubelet rotates projected tokens; client-go re-reads them too) and after a 401;
  elsewhere the kubeconfig's current context, with its CA, client certificate and key
  (files or ``-data``), a token or ``tokenFile``, or ``insecure-skip-tls-verify``;
- ``Retry-After``: a 429 (priority and fairness) or a 5xx that carries the header is
  retried after the time the server asks for, a bounded number of times, as client-go does;
- errors are :class:`ApiError` with the HTTP status and the API's ``Status`` body.

Ref: https://kubernetes.io/docs/reference/access-authn-authz/authentication/
Ref: https://kubernetes.io/docs/concepts/cluster-administration/flow-control/
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import yaml

IN_CLUSTER_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
MAX_RETRY_AFTER = 30.0  # seconds: the longest wait a server's Retry-After gets
TOKEN_REREAD = 60.0  # seconds between re-reads of a token file even if it looks unchanged


class ConfigError(Exception):
    """No usable credentials; the message says what is missing, in one line."""


class ApiError(Exception):
    """The API server refused a request: ``status`` (HTTP) and its ``Status`` body."""

    def __init__(self, status: int, body: Mapping[str, Any], *, retry_after: float | None = None) -> None:
        self.status = status
        self.body = dict(body)
        self.reason = str(self.body.get("reason", ""))
        self.retry_after = retry_after
        super().__init__(f"{status} {self.reason}: {self.body.get('message', '')}".strip())


def path(
    group: str,
    version: str,
    plural: str,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """The URL path of a collection, an object or an object's subresource."""
    parts = ["api", version] if not group else ["apis", group, version]
    if namespace is not None:
        parts += ["namespaces", namespace]
    parts.append(plural)
    if name is not None:
        parts.append(name)
        if subresource:
            parts.append(subresource)
    return "/" + "/".join(parts)


class Requests(Protocol):
    """What the adapters need of a client (:class:`Client`, or a test's in-memory API)."""

    async def get(self, url: str, *, query: Mapping[str, str] | None = None) -> Any: ...
    async def create(self, url: str, body: Mapping[str, Any]) -> Any: ...
    async def replace(self, url: str, body: Mapping[str, Any]) -> Any: ...
    async def patch(self, url: str, body: Mapping[str, Any]) -> Any: ...


class TokenFile:
    """A bearer token read from a file, re-read when the file changes (or after
    :data:`TOKEN_REREAD` seconds, or when :meth:`invalidate` says the server refused it)."""

    def __init__(self, file: Path, *, clock: Any = time.monotonic) -> None:
        self.file, self._clock = file, clock
        self._token, self._stamp, self._read_at = "", (0, 0), float("-inf")

    def token(self) -> str:
        stat = self.file.stat()
        stamp = (stat.st_mtime_ns, stat.st_ino)
        if stamp != self._stamp or self._clock() - self._read_at > TOKEN_REREAD:
            self._token = self.file.read_text().strip()
            self._stamp, self._read_at = stamp, self._clock()
        return self._token

    def invalidate(self) -> None:
        self._read_at, self._stamp = float("-inf"), (0, 0)


@dataclass(frozen=True)
class ClusterConfig:
    """Where the API server is and how to log in to it."""

    server: str
    ssl: ssl.SSLContext | bool = True  # a context, or False for plain http / skip-verify
    token: str | None = None
    token_file: TokenFile | None = None
    namespace: str = "default"

    def authorization(self) -> str | None:
        token = self.token_file.token() if self.token_file is not None else self.token
        return f"Bearer {token}" if token else None


def load_config(env: Mapping[str, str] | None = None) -> ClusterConfig:
    """The in-cluster ServiceAccount when running in a Pod, else the current kubeconfig."""
    env = os.environ if env is None else env
    host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT")
    if host and port and (IN_CLUSTER_DIR / "token").exists():
        return in_cluster_config(host, port)
    return kubeconfig(_kubeconfig_path(env))


def in_cluster_config(host: str, port: str, directory: Path = IN_CLUSTER_DIR) -> ClusterConfig:
    context = ssl.create_default_context(cafile=str(directory / "ca.crt"))
    namespace = (directory / "namespace").read_text().strip() if (directory / "namespace").exists() else "default"
    server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    return ClusterConfig(server, context, token_file=TokenFile(directory / "token"), namespace=namespace)


def _kubeconfig_path(env: Mapping[str, str]) -> Path:
    listed = [p for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    candidates = [Path(p).expanduser() for p in listed] or [Path(env.get("HOME", "~")).expanduser() / ".kube/config"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(
        "not in a Pod (no service account token) and no kubeconfig at "
        + ", ".join(str(c) for c in candidates)
        + " (set KUBECONFIG)"
    )


def _named(entries: Any, name: str, what: str, source: Path) -> dict[str, Any]:
    for entry in entries or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return dict(entry.get(what) or {})
    raise ConfigError(f"{source}: no {what} named {name!r}")


def _material(section: Mapping[str, Any], key: str, base: Path, scratch: Path) -> str | None:
    """A file path for ``key`` (a path relative to the kubeconfig) or ``key-data`` (base64)."""
    if data := section.get(f"{key}-data"):
        target = scratch / key
        target.write_bytes(base64.b64decode(data))
        return str(target)
    if file := section.get(key):
        return str((base / str(file)).expanduser())
    return None


def kubeconfig(source: Path) -> ClusterConfig:
    """The current context of a kubeconfig file.

    Exec plugins and auth providers are not supported (the operator runs with a
    ServiceAccount; out of cluster, use a token or a client certificate).
    """
    try:
        config = yaml.safe_load(source.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{source}: unreadable kubeconfig ({exc})") from None
    current = config.get("current-context")
    if not current:
        raise ConfigError(f"{source}: no current-context")
    context = _named(config.get("contexts"), current, "context", source)
    cluster = _named(config.get("clusters"), str(context.get("cluster", "")), "cluster", source)
    user = _named(config.get("users"), str(context.get("user", "")), "user", source) if context.get("user") else {}
    if "exec" in user or "auth-provider" in user:
        raise ConfigError(f"{source}: user {context.get('user')!r} logs in with a plugin; use a token or certificate")
    server = str(cluster.get("server", "")).rstrip("/")
    if not server:
        raise ConfigError(f"{source}: cluster {context.get('cluster')!r} has no server")
    base = source.parent
    verify: ssl.SSLContext | bool = True
    if server.startswith("https://"):
        with tempfile.TemporaryDirectory() as scratch_dir:  # ssl reads the files at once
            scratch = Path(scratch_dir)
            if cluster.get("insecure-skip-tls-verify"):
                context_ = ssl.create_default_context()
                context_.check_hostname, context_.verify_mode = False, ssl.CERT_NONE
            else:
                context_ = ssl.create_default_context(cafile=_material(cluster, "certificate-authority", base, scratch))
            cert = _material(user, "client-certificate", base, scratch)
            if cert is not None:
                context_.load_cert_chain(cert, _material(user, "client-key", base, scratch))
            verify = context_
    elif server.startswith("http://"):
        verify = False
    token_file = TokenFile(base / str(user["tokenFile"])) if user.get("tokenFile") else None
    return ClusterConfig(
        server,
        verify,
        token=str(user["token"]) if user.get("token") else None,
        token_file=token_file,
        namespace=str(context.get("namespace") or "default"),
    )


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, min(MAX_RETRY_AFTER, float(value)))
    except ValueError:
        return 1.0  # an HTTP date, which the API server never sends: wait a little


class Client:
    """JSON requests and watch streams against one API server, over one connection pool."""

    def __init__(
        self,
        config: ClusterConfig,
        *,
        user_agent: str,
        timeout: float = 10.0,
        retries: int = 10,
        connections: int = 64,
        on_response: Callable[[str, int], None] | None = None,
    ) -> None:
        """``on_response(method, status)`` is told of every answer (the request counter)."""
        self.config, self.user_agent = config, user_agent
        self.timeout, self.retries, self.connections = timeout, retries, connections
        self._on_response = on_response or (lambda method, status: None)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self.config.ssl, limit=self.connections)
            self._session = aiohttp.ClientSession(
                base_url=self.config.server, connector=connector, headers={"User-Agent": self.user_agent}
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _headers(self, content_type: str | None) -> dict[str, str]:
        headers = {"Accept": JSON}
        if content_type:
            headers["Content-Type"] = content_type
        if auth := self.config.authorization():
            headers["Authorization"] = auth
        return headers

    async def request(
        self,
        method: str,
        url: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = JSON,
        timeout: float | None = None,
    ) -> Any:
        """One request; the decoded answer, or :class:`ApiError`.

        Retries what the server asks to be retried (``Retry-After`` on a 429 or 5xx) and,
        once, a 401 with a token file (the token may have just been rotated).
        """
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        budget = aiohttp.ClientTimeout(total=timeout or self.timeout)
        reauthenticated = False
        for attempt in range(self.retries + 1):
            headers = self._headers(content_type if data is not None else None)
            async with self._open().request(
                method, url, params=query, data=data, headers=headers, timeout=budget
            ) as response:
                raw = await response.read()
                self._on_response(method, response.status)
                if response.status < 400:
                    return json.loads(raw) if raw else None
                error = ApiError(
                    response.status, _status_body(raw, response.status), retry_after=_retry_after(response)
                )
            if error.status == 401 and self.config.token_file is not None and not reauthenticated:
                self.config.token_file.invalidate()
                reauthenticated = True
                continue
            wait = error.retry_after
            if wait is None or not (error.status == 429 or error.status >= 500) or attempt == self.retries:
                raise error
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def get(self, url: str, *, query: Mapping[str, str] | None = None) -> Any:
        return await self.request("GET", url, query=query)

    async def create(self, url: str, body: Mapping[str, Any]) -> Any:
        return await self.request("POST", url, body=dict(body))

    async def replace(self, url: str, body: Mapping[str, Any]) -> Any:
        return await self.request("PUT", url, body=dict(body))

    async def patch(self, url: str, body: Mapping[str, Any]) -> Any:
        """A JSON merge patch."""
        return await self.request("PATCH", url, body=dict(body), content_type=MERGE_PATCH)

    async def watch(self, url: str, query: Mapping[str, str], *, idle_timeout: float) -> AsyncIterator[dict[str, Any]]:
        """The events of one watch request, until the server ends it.

        ``idle_timeout``: seconds without a byte after which the connection counts as dead
        (bookmarks and the server's own ``timeoutSeconds`` keep a live one talking).
        Lines are split here rather than by aiohttp's ``readline``, whose limit (128 KiB)
        a large Workflow exceeds.
        """
        budget = aiohttp.ClientTimeout(total=None, sock_connect=self.timeout, sock_read=idle_timeout)
        for attempt in range(self.retries + 1):
            async with self._open().get(url, params=query, headers=self._headers(None), timeout=budget) as response:
                self._on_response("WATCH", response.status)
                if response.status >= 400:
                    error = ApiError(
                        response.status,
                        _status_body(await response.read(), response.status),
                        retry_after=_retry_after(response),
                    )
                    if error.retry_after is None or attempt == self.retries:
                        raise error
                    await asyncio.sleep(error.retry_after)
                    continue
                partial: list[bytes] = []  # the pieces of a line that has not ended yet
                async for chunk in response.content.iter_any():
                    *ended, rest = chunk.split(b"\n")
                    for piece in ended:
                        line = b"".join((*partial, piece)) if partial else piece
                        partial = []
                        if line.strip():
                            yield json.loads(line)
                    if rest:
                        partial.append(rest)
                return


def _status_body(raw: bytes, status: int) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    return {"kind": "Status", "code": status, "message": raw[:500].decode(errors="replace")}
