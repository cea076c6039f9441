"""List-then-watch into a cache, as client-go's informers do.

One :class:`Informer` keeps a :class:`~agentic_operator.cache.Store` current for one
resource in one namespace and calls ``on_change(type, obj)`` for each change it sees:

- **List in chunks** (``limit`` / ``continue``), each page compacted (``transform``) before
  the next is read, so a restart over many objects peaks at the cache plus one page. An
  expired ``continue`` token (410) starts the list again.
- **Watch from the list's resourceVersion** with ``allowWatchBookmarks``: bookmarks move
  the resourceVersion on while nothing changes, so a reconnect rarely needs a re-list.
  The server ends each watch after ``timeoutSeconds`` (jittered, as client-go's 5-10
  minutes); the informer then watches on from where it was.
- **Re-list on 410 Gone** (the resourceVersion was compacted away, e.g. after the API
  server restarted): the new list replaces the cache, and every cached object absent
  from it is dropped with a ``DELETED`` change, since its deletion happened in the gap
  where no event could report it. Objects newer than the list (our own writes that raced
  it) are kept.
- **Back off with jitter** on errors (connection refused, 5xx, 403 while RBAC is being
  set up): ``base * 2**n`` capped at ``cap``, each wait drawn from its upper half; a
  successful list or watch event resets it. ``Retry-After`` is honoured by the client.

kopf, which the operator used before, re-lists after a 410 without reporting deletions
(its watcher keeps no cache to compare against), which is why this module exists; see
docs/ARCHITECTURE.md.
Ref: https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from agentic_operator.cache import Key, Store, key_of, version
from agentic_operator.kubeclient import ApiError, Client

log = logging.getLogger(__name__)

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"
Change = Callable[[str, Mapping[str, Any]], None]


class Expired(Exception):
    """The watch's resourceVersion is gone (410): only a new list can go on."""


class Backoff:
    """Exponential backoff with jitter: each wait is drawn from the upper half of
    ``min(cap, base * 2**failures)``, so that many clients do not retry in step."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None) -> None:
        self.base, self.cap, self.failures = base, cap, 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        ceiling = min(self.cap, self.base * 2.0**self.failures)
        self.failures += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.failures = 0


def _identity(obj: Mapping[str, Any]) -> dict[str, Any]:
    return dict(obj)


class Informer:
    """Keeps ``store`` current with the objects at ``collection`` (a list URL path)."""

    def __init__(
        self,
        client: Client,
        collection: str,
        store: Store,
        on_change: Change,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        transform: Callable[[Mapping[str, Any]], dict[str, Any]] = _identity,
        page_size: int = 500,
        watch_seconds: int = 300,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """``namespace``: the store keys this informer owns (None: all of them)."""
        self.client, self.collection, self.store, self.on_change = client, collection, store, on_change
        self.namespace, self.label_selector, self.transform = namespace, label_selector, transform
        self.page_size, self.watch_seconds = page_size, watch_seconds
        self.backoff = backoff or Backoff()
        self._rng = rng or random.Random()
        self.synced = asyncio.Event()  # the first list is in the store
        self.healthy = False  # the last list or watch request succeeded
        self.lists = 0  # lists completed (1 + re-lists)

    def _query(self, **extra: str) -> dict[str, str]:
        query = {"labelSelector": self.label_selector} if self.label_selector else {}
        return {**query, **extra}

    async def run(self) -> None:
        """List and watch until cancelled."""
        resource_version: str | None = None
        while True:
            try:
                if resource_version is None:
                    resource_version = await self.list()
                    self.synced.set()
                resource_version = await self.watch(resource_version)
            except Expired:
                log.info("%s: resourceVersion expired; listing again", self.collection)
                resource_version = None
            except (ApiError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
                self.healthy = False
                delay = self.backoff.next()
                log.warning("%s: %s: %s; retrying in %.1fs", self.collection, type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)

    async def list(self) -> str:
        """List every object, page by page, into the store; the list's resourceVersion.

        Cached objects the list does not hold (and that are not newer than it) are
        deleted, each reported as ``DELETED``.
        """
        listed: set[Key] = set()
        query = self._query(limit=str(self.page_size))
        while True:
            try:
                page = await self.client.get(self.collection, query=query)
            except ApiError as exc:
                if exc.status == 410 and "continue" in query:  # the snapshot is gone: from the top
                    listed.clear()
                    query = self._query(limit=str(self.page_size))
                    continue
                raise
            for item in page.get("items") or ():
                obj = self.transform(item)
                key = key_of(obj)
                listed.add(key)
                old = self.store.get(key)
                if old is not None and version(old) is not None and version(old) == version(obj):
                    continue  # unchanged: keep the cached copy
                if self.store.put(obj):
                    self.on_change(ADDED if old is None else MODIFIED, obj)
            meta = page.get("metadata") or {}
            token = meta.get("continue")
            if not token:
                break
            query = self._query(limit=str(self.page_size), **{"continue": str(token)})
        resource_version = str(meta.get("resourceVersion", ""))
        self._forget_absent(listed, resource_version)
        self.lists += 1
        self.healthy = True
        self.backoff.reset()
        return resource_version

    def _forget_absent(self, listed: set[Key], resource_version: str) -> None:
        listed_at = int(resource_version) if resource_version.isdigit() else None
        for key in self.store.keys_in(self.namespace):
            if key in listed:
                continue
            obj = self.store.get(key)
            stored_at = version(obj) if obj is not None else None
            if obj is None or (listed_at is not None and stored_at is not None and stored_at > listed_at):
                continue  # written after the list's snapshot (by us): its absence means nothing
            if self.store.delete(key) is not None:
                self.on_change(DELETED, obj)

    async def watch(self, resource_version: str) -> str:
        """One watch request from ``resource_version``; where it ended (raises :class:`Expired`)."""
        timeout = int(self.watch_seconds * (1 + self._rng.random()))
        query = self._query(
            watch="true", allowWatchBookmarks="true", resourceVersion=resource_version, timeoutSeconds=str(timeout)
        )
        try:
            async for event in self.client.watch(self.collection, query, idle_timeout=timeout + 30):
                resource_version = self._apply(event, resource_version)
                self.healthy = True
                self.backoff.reset()
        except ApiError as exc:
            if exc.status == 410:
                raise Expired from exc
            raise
        return resource_version

    def _apply(self, event: Mapping[str, Any], resource_version: str) -> str:
        kind, raw = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if raw.get("code") == 410:
                raise Expired(raw.get("message", ""))
            raise ApiError(int(raw.get("code") or 500), raw)
        new_version = str((raw.get("metadata") or {}).get("resourceVersion") or resource_version)
        if kind == "BOOKMARK":
            return new_version
        obj = self.transform(raw)
        if kind == DELETED:
            self.store.delete(key_of(obj))
            self.on_change(DELETED, obj)
        elif kind in (ADDED, MODIFIED):
            if self.store.put(obj):
                self.on_change(str(kind), obj)
        else:
            log.warning("%s: ignoring a watch event of type %r", self.collection, kind)
        return new_version
