"""A work queue of keys with de-duplication, delays and per-key backoff.

The semantics of client-go's rate-limited work queue, which Kubernetes controllers rely on:
a key is queued at most once however many events name it; a key being processed is never
handed to a second worker, and if events arrive meanwhile it is queued again when done;
``add(key, after=...)`` schedules a key for later (timeouts) and an earlier
schedule wins; failures back off exponentially per key until a success resets it.

One addition: ``add(key, background=True)`` (the periodic resync) queues behind every
foreground key, so a safety-net pass over thousands of keys never delays a real event;
a foreground add of a key waiting in the background moves it to the front lane.
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
        self._background: deque[K] = deque()
        self._queued: dict[K, bool] = {}  # key -> queued in the background lane
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
        return len(self._queued) + len(self._due)

    def add(self, key: K, *, after: float = 0.0, background: bool = False) -> None:
        """Queue ``key`` now, or no later than ``after`` seconds from now; ``background``
        keys wait until no foreground key is ready."""
        if after > 0:
            due = self._clock() + after
            if self._due.get(key, float("inf")) > due:
                self._due[key] = due
                heapq.heappush(self._later, (due, next(self._order), key))
                self._wakeup.set()
            return
        if key in self._processing:
            self._dirty.add(key)
        elif key not in self._queued or (self._queued[key] and not background):
            self._queued[key] = background  # a key promoted to the front stays in the back lane, skipped
            (self._background if background else self._ready).append(key)
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
            key = self._next()
            if key is not None:
                self._processing.add(key)
                return key
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=wait)

    def _next(self) -> K | None:
        if self._ready:
            key = self._ready.popleft()
            del self._queued[key]
            return key
        while self._background:
            key = self._background.popleft()
            if self._queued.get(key) is True:  # not promoted (nor handed out) since
                del self._queued[key]
                return key
        return None

    def done(self, key: K) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._dirty.discard(key)
            self.add(key)

    def close(self) -> None:
        self._closed = True
        self._wakeup.set()
