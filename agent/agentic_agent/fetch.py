"""Fetching a page the way a careful crawler does, through the guard of :mod:`agentic_agent.netguard`.

- connect and read timeouts, and a total deadline per URL (a page that trickles one
  byte at a time still ends);
- a size cap, enforced while streaming (never trusting ``Content-Length``);
- at most ``max_redirects`` redirects, each hop's URL re-checked and its connection
  re-resolved and re-checked, with ``Location`` resolved against the hop it came from;
- an honest User-Agent naming the agent and its version;
- robots.txt (RFC 9309) per origin, fetched through the same guard: a 4xx means no
  rules, a 5xx or an unreachable robots.txt means "disallow everything".

A failed fetch is a :class:`Fetched` with ``error`` set and whether a retry could help.

Ref: https://www.rfc-editor.org/rfc/rfc9309#section-2.3.1
"""

from __future__ import annotations

import time
import urllib.robotparser
from dataclasses import dataclass, field
from typing import Any

import httpx

from agentic_agent import __version__
from agentic_agent.netguard import Blocked, Guard, GuardedTransport

ROBOTS_TOKEN = "agentic-agent"
USER_AGENT = f"{ROBOTS_TOKEN}/{__version__} (policy-gated page analysis; obeys robots.txt)"
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309: crawlers must parse at least 500 KiB
# Response headers kept with a page; cookies are the site's session state, not content.
_DROPPED_HEADERS = frozenset({"set-cookie", "set-cookie2"})


@dataclass(frozen=True)
class Limits:
    """How far one URL may go."""

    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_bytes: int = 5 * 2**20
    max_redirects: int = 5


@dataclass
class Fetched:
    """One URL's outcome: the final response, or why there is none."""

    url: str
    final_url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    redirects: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    retryable: bool = False
    refused: bool = False  # the guard, robots.txt or the redirect limit said no

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


class TooLarge(Exception):
    pass


class DeadlineExceeded(Exception):
    pass


class Fetcher:
    """An httpx client whose every connection goes through ``guard``; one per step."""

    def __init__(self, guard: Guard, limits: Limits = Limits(), *, obey_robots: bool = True) -> None:
        self.guard = guard
        self.limits = limits
        self.obey_robots = obey_robots
        self._robots: dict[str, urllib.robotparser.RobotFileParser] = {}
        self._client = httpx.Client(
            transport=GuardedTransport(guard),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,  # each hop is checked here
            trust_env=False,  # no proxy from the environment: it would connect for us, unchecked
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *_: object) -> None:
        self._client.close()

    def fetch(self, url: str, *, max_bytes: int | None = None, robots: bool = True) -> Fetched:
        """GET ``url`` following redirects; never raises for what the site or network did."""
        started = time.monotonic()
        deadline = started + self.limits.total_timeout
        result = Fetched(url=url, final_url=url)
        current = url
        try:
            for hop in range(self.limits.max_redirects + 1):
                target = httpx.URL(current)
                self.guard.check_url(target)
                if robots and self.obey_robots and not self._allowed_by_robots(target):
                    raise Blocked(f"robots.txt of {target.host} disallows {target.path} for {ROBOTS_TOKEN}")
                response, body = self._get(target, deadline, max_bytes or self.limits.max_bytes)
                location = response.headers.get("location")
                if response.is_redirect and location:
                    if hop == self.limits.max_redirects:
                        raise Blocked(f"more than {self.limits.max_redirects} redirects")
                    nxt = str(target.join(location))
                    result.redirects.append({"url": current, "status": response.status_code, "location": nxt})
                    current = nxt
                    continue
                result.final_url = current
                result.status = response.status_code
                result.headers = {
                    k.lower(): v for k, v in response.headers.items() if k.lower() not in _DROPPED_HEADERS
                }
                result.body = body
                break
        except Blocked as error:
            result.error, result.refused = f"refused: {error}", True
        except httpx.ConnectError as error:
            blocked = error.__cause__ if isinstance(error.__cause__, Blocked) else None
            result.error = f"refused: {blocked}" if blocked else f"cannot connect: {error}"
            result.refused, result.retryable = blocked is not None, blocked is None
        except (httpx.TimeoutException, DeadlineExceeded):
            result.error = f"no complete answer within {self.limits.total_timeout:g}s"
            result.retryable = True
        except TooLarge:
            result.error = f"larger than {max_bytes or self.limits.max_bytes} bytes"
        except httpx.InvalidURL as error:
            result.error = f"invalid URL: {error}"
        except httpx.HTTPError as error:  # protocol errors, resets mid-body
            result.error = f"{type(error).__name__}: {error}"
            result.retryable = True
        result.seconds = round(time.monotonic() - started, 3)
        return result

    def _get(self, url: httpx.URL, deadline: float, max_bytes: int) -> tuple[httpx.Response, bytes]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded
        timeout = httpx.Timeout(
            connect=min(self.limits.connect_timeout, remaining),
            read=min(self.limits.read_timeout, remaining),
            write=min(self.limits.read_timeout, remaining),
            pool=min(self.limits.connect_timeout, remaining),
        )
        with self._client.stream("GET", url, timeout=timeout) as response:
            chunks: list[bytes] = []
            size = 0
            if response.is_redirect:
                return response, b""
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge
                if time.monotonic() > deadline:
                    raise DeadlineExceeded
                chunks.append(chunk)
            return response, b"".join(chunks)

    def _allowed_by_robots(self, url: httpx.URL) -> bool:
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        parser = self._robots.get(origin)
        if parser is None:
            parser = urllib.robotparser.RobotFileParser()
            answer = self.fetch(f"{origin}/robots.txt", max_bytes=ROBOTS_MAX_BYTES, robots=False)
            if answer.refused and answer.error:  # the page would be refused alike: say why
                raise Blocked(answer.error.removeprefix("refused: "))
            if answer.status is not None and 200 <= answer.status < 300:
                parser.parse(answer.body.decode("utf-8", errors="replace").splitlines())
            elif answer.status is not None and 400 <= answer.status < 500:
                parser.parse([])  # RFC 9309 2.3.1.3: unavailable, no rules
            else:
                parser.parse(["User-agent: *", "Disallow: /"])  # RFC 9309 2.3.1.4: unreachable, disallow all
            self._robots[origin] = parser
        return parser.can_fetch(USER_AGENT, str(url))
