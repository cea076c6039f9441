"""The second line behind admission: where the agent may connect, checked when it connects.

Admission (``policies/admission.rego``) judges the URLs written in the spec. What it
cannot see is what those names resolve to when the step runs, or where a redirect
leads. So every connection the agent makes goes through :class:`GuardedBackend`, an
httpcore network backend that

1. resolves the host itself (through an injectable :data:`Resolver`),
2. refuses the host if *any* address is in a blocked network, read from the same
   ``blocked_networks`` of the policy data admission uses (one list), and
3. connects to an address it checked: no second lookup, so a name that rebinds between
   the check and the connection cannot move it.

TLS still verifies the certificate against the host name (httpcore passes the name as
SNI on top of the pinned socket). URLs are checked before each request too
(:meth:`Guard.check_url`): the scheme, user info, and the host lists of the policy data,
so a redirect cannot leave what admission would have allowed.

Ref: https://www.encode.io/httpcore/network-backends/
Ref: https://cheatsheetseries.owasp.org/cheatsheets/Server_Side_Request_Forgery_Prevention_Cheat_Sheet.html
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpcore
import httpx

from agentic_agent.errors import ConfigError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> the addresses to try, in order. Injected in tests (names that resolve to
# loopback, or rebind); the default asks the system resolver.
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """The system resolver's TCP addresses for ``host``, in its order, without repeats."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class Blocked(httpcore.ConnectError):
    """A connection or URL the policy data forbids; never retried."""


@dataclass(frozen=True)
class Guard:
    """The policy data's network rules (``data.agentic.config``), as the agent applies them."""

    blocked: Mapping[IPNetwork, str]
    allowed_schemes: frozenset[str] = frozenset({"http", "https"})
    internal_suffixes: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    denied_hosts: tuple[str, ...] = ()
    resolver: Resolver = field(default=system_resolver, compare=False)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], resolver: Resolver = system_resolver) -> Guard:
        """From ``agentic.config``: a missing or mistyped key is a :class:`ConfigError`.

        A network whose label is null is left out, as admission leaves it out: that is
        how a stack's ``policy.data`` removes one.
        """
        networks = config.get("blocked_networks")
        if not isinstance(networks, Mapping):
            raise ConfigError("policy data: agentic.config.blocked_networks is missing or not an object")
        blocked: dict[IPNetwork, str] = {}
        for cidr, label in networks.items():
            if label is None:
                continue
            try:
                blocked[ipaddress.ip_network(cidr)] = str(label)
            except ValueError:
                raise ConfigError(f"policy data: blocked_networks: {cidr!r} is not a CIDR") from None
        return cls(
            blocked=blocked,
            allowed_schemes=frozenset(_strings(config, "allowed_schemes")),
            internal_suffixes=tuple(_domain(s) for s in _strings(config, "internal_host_suffixes")),
            allowed_hosts=tuple(_domain(s) for s in _strings(config, "allowed_hosts")),
            denied_hosts=tuple(_domain(s) for s in _strings(config, "denied_hosts")),
            resolver=resolver,
        )

    def check_url(self, url: httpx.URL) -> None:
        """Refuse a URL admission would refuse for its scheme, user info or host name."""
        if url.scheme not in self.allowed_schemes:
            raise Blocked(f"scheme {url.scheme!r} is not allowed ({', '.join(sorted(self.allowed_schemes))})")
        if url.userinfo:
            raise Blocked("URLs with user info (user@host) are not allowed")
        host = url.host.rstrip(".").lower()
        if not host:
            raise Blocked("the URL has no host")
        if _ip(host) is not None:
            return  # addresses are judged when connecting, like every resolved name
        if "." not in host:
            raise Blocked(f"host {host!r} is a single-label name, which resolves to a cluster Service")
        if suffix := _match(host, self.internal_suffixes):
            raise Blocked(f"host {host!r} is cluster-internal (matches {suffix!r})")
        if pattern := _match(host, self.denied_hosts):
            raise Blocked(f"host {host!r} is in denied_hosts ({pattern})")
        if self.allowed_hosts and not _match(host, self.allowed_hosts):
            raise Blocked(f"host {host!r} is not in allowed_hosts")

    def why_blocked(self, address: IPAddress) -> str | None:
        """The reason an address may not be reached, or None. IPv4-mapped IPv6 is judged as IPv4."""
        candidates: list[IPAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        for candidate in candidates:
            for network, label in self.blocked.items():
                if candidate.version == network.version and candidate in network:
                    return f"{candidate} is a blocked address: {label} ({network})"
        return None

    def addresses(self, host: str, port: int) -> list[str]:
        """Every address ``host`` resolves to, all checked; :class:`Blocked` if any is blocked."""
        literal = _ip(host)
        try:
            resolved = [host] if literal is not None else self.resolver(host, port)
        except OSError as error:
            raise httpcore.ConnectError(f"cannot resolve {host!r}: {error}") from error
        if not resolved:
            raise httpcore.ConnectError(f"{host!r} resolves to no address")
        for text in resolved:
            address = _ip(text)
            if address is None:
                raise Blocked(f"{host!r} resolved to {text!r}, which is not an IP address")
            if reason := self.why_blocked(address):
                raise Blocked(f"host {host!r} resolves to {reason}" if literal is None else reason)
        return [str(_ip(text)) for text in resolved]


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, connecting only to addresses the :class:`Guard` checked."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        error: Exception | None = None
        for address in self.guard.addresses(host.strip("[]"), port):
            try:
                return self._backend.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failure:
                error = failure  # try the next checked address, as a resolver-ordered client would
        assert error is not None
        raise error

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise Blocked("unix sockets are not reachable through the agent")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a :class:`GuardedBackend`, with no proxy and no retries.

    httpx takes no network backend, so the connection pool it builds is replaced by one
    that has ours (``_pool`` is what ``HTTPTransport.handle_request`` sends through; the
    version is pinned, and tests/agent fail if connections stop going through the guard).
    """

    def __init__(self, guard: Guard) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=10,
            max_keepalive_connections=5,
            network_backend=GuardedBackend(guard),
        )


def load_policy_config(path: Path) -> dict[str, Any]:
    """``agentic.config`` of a policy data file (policies/data.json with the stack's overrides)."""
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise ConfigError(f"policy data {path}: cannot read it ({error.strerror})") from None
    except ValueError as error:
        raise ConfigError(f"policy data {path}: not JSON ({error})") from None
    config = data.get("agentic", {}).get("config") if isinstance(data, dict) else None
    if not isinstance(config, dict):
        raise ConfigError(f"policy data {path}: no agentic.config object")
    return config


def _strings(config: Mapping[str, Any], key: str) -> list[str]:
    value = config.get(key)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"policy data: agentic.config.{key} is missing or not a list of strings")
    return list(value)


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _domain(pattern: str) -> str:
    """A host list entry as admission reads it: lower case, no ``*.`` or trailing dot."""
    return pattern.lower().rstrip(".").removeprefix("*.")


def _match(host: str, domains: Iterable[str]) -> str | None:
    """The first entry naming ``host`` or a domain above it (``example.com`` covers ``a.example.com``)."""
    return next((d for d in domains if d and (host == d or host.endswith("." + d))), None)
