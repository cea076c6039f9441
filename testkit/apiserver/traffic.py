"""Request counting and fault injection, shared by the test thread and the emulator's loop.

kmock keeps every request it served and, in 0.8, re-scans all of them to route each new one
(a GET took ~33 ms after 500 requests, ~96 ms after 1,500). The harness routes requests
itself and never records them in kmock; it counts them here instead: one counter per
distinct kind of request and answer, so memory and lookup cost do not grow with the number
of requests, and a long test or a benchmark stays fast.

Faults are rules the test adds (``Cluster.inject``): the next ``times`` matching requests
are held for ``delay`` seconds and/or answered with ``status``, before the request touches
any state; then normal service resumes. Both classes lock, as the test thread and the
emulator's event loop use them at once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Collection
from dataclasses import asdict, dataclass

MAX_DELAY = 30.0  # seconds: a held request must not outlive a test

Wanted = str | int | Collection[str | int] | None  # None: any; a collection: any of these


@dataclass(frozen=True)
class Call:
    """What a request asked for; ``resource`` and ``verb`` are empty for non-resource paths."""

    method: str
    path: str = ""  # set for non-resource paths only (discovery, /version), to keep keys few
    verb: str = ""  # get, list, watch, create, update, patch, delete, deletecollection
    group: str = ""
    resource: str = ""  # the plural
    subresource: str = ""  # "" for the object itself, e.g. "status"
    namespace: str = ""
    name: str = ""
    agent: str = ""  # the User-Agent's product, e.g. "kopf" or "agentic-operator"


def _matches(values: dict[str, str | int], wanted: dict[str, Wanted]) -> bool:
    for field, want in wanted.items():
        if want is None:
            continue
        if isinstance(want, str | int):
            want = (want,)
        if values[field] not in want:
            return False
    return True


class RequestLog:
    """How many requests of each kind were answered with each status code."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[Call, int]] = Counter()

    def record(self, call: Call, code: int) -> None:
        with self._lock:
            self._counts[call, code] += 1

    def count(self, **wanted: Wanted) -> int:
        """Requests whose fields (``Call``'s and ``code``) match all given filters."""
        with self._lock:
            counts = list(self._counts.items())
        return sum(n for (call, code), n in counts if _matches({**asdict(call), "code": code}, wanted))

    def calls(self, **wanted: Wanted) -> set[Call]:
        """The distinct requests whose fields match all given filters."""
        with self._lock:
            counts = list(self._counts)
        return {call for call, code in counts if _matches({**asdict(call), "code": code}, wanted)}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


@dataclass
class Fault:
    """Hold matching requests for ``delay`` seconds, then answer ``status`` (or serve them)."""

    wanted: dict[str, Wanted]
    status: int | None
    delay: float
    times: int | None  # how many more requests to affect; None: until cleared
    retry_after: int | None = None  # seconds, in the Status's details and a Retry-After header


class Faults:
    """The faults to inject, in the order added; the first matching one applies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        if fault.status is None and not fault.delay:
            raise ValueError("a fault needs a status, a delay, or both")
        if fault.status is not None and not 400 <= fault.status <= 599:
            raise ValueError(f"an injected status must be an error (400-599), not {fault.status}")
        if not 0 <= fault.delay <= MAX_DELAY:
            raise ValueError(f"an injected delay must be within 0-{MAX_DELAY} s, not {fault.delay}")
        if fault.times is not None and fault.times < 1:
            raise ValueError("times must be at least 1 (or None: until cleared)")
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, call: Call) -> Fault | None:
        """The fault for this request, if any, counting it as used."""
        values: dict[str, str | int] = asdict(call)
        with self._lock:
            for fault in self._faults:
                if _matches(values, fault.wanted):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None
