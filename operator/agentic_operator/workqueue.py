"""A work queue of keys with de-duplication, delays and per-key backoff.

The semantics of client-go's rate-limited work queue, which Kubernetes controllers rely on:
a key is queued at most once however many events name it; a key being processed is never
handed to a second worker, and if events arrive meanwhile it is queued again when done;
``add(key, after=...)`` schedules a key for later (timeouts, resync) and an earlier
schedule wins; failures back off exponentially per key until a success resets it.
Ref: https://pkg.go.dev/k8s.io/client-go/util/workqueue
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class WorkQueue(Generic[K]):
    def __init__(
        self,
        *,
        base_delay: float = 0.5,
        max_delay: float = 300.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._ready: deque[K] = deque()
        self._queued: set[K] = set()
        self._processing: set[K] = set()
        self._dirty: set[K] = set()
        self._later: list[tuple[float, int, K]] = []
        self._due: dict[K, float] = {}
        self._failures: dict[K, int] = {}
        self._order = itertools.count()
        self._base, self._max = base_delay, max_delay
        self._clock = clock or (lambda: asyncio.get_running_loop().time())
        self._wakeup = asyncio.Event()
        self._closed = False

    def __len__(self) -> int:
        return len(self._ready) + len(self._due)

    def add(self, key: K, *, after: float = 0.0) -> None:
        """Queue ``key`` now, or no later than ``after`` seconds from now."""
        if after > 0:
            due = self._clock() + after
            if self._due.get(key, float("inf")) > due:
                self._due[key] = due
                heapq.heappush(self._later, (due, next(self._order), key))
                self._wakeup.set()
            return
        if key in self._processing:
            self._dirty.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._ready.append(key)
            self._wakeup.set()

    def retry(self, key: K) -> float:
        """Schedule ``key`` again after its next backoff delay, which it returns."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        delay = min(self._max, self._base * 2.0**failures)
        self.add(key, after=delay)
        return delay

    def forget(self, key: K) -> None:
        """A success: the next failure of ``key`` starts from the base delay again."""
        self._failures.pop(key, None)

    def _promote_due(self) -> float | None:
        """Move keys whose time has come to the ready list; return seconds to the next."""
        now = self._clock()
        while self._later:
            due, _, key = self._later[0]
            if self._due.get(key) != due:  # superseded by an earlier schedule
                heapq.heappop(self._later)
                continue
            if due > now:
                return due - now
            heapq.heappop(self._later)
            del self._due[key]
            self.add(key)
        return None

    async def get(self) -> K:
        """The next key to process; call :meth:`done` with it when finished."""
        while True:
            if self._closed:
                raise asyncio.CancelledError("queue closed")
            wait = self._promote_due()
            if self._ready:
                key = self._ready.popleft()
                self._queued.discard(key)
                self._processing.add(key)
                return key
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=wait)

    def done(self, key: K) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._dirty.discard(key)
            self.add(key)

    def close(self) -> None:
        self._closed = True
        self._wakeup.set()
