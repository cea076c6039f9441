"""The work queue: de-duplication, exclusivity, delays and backoff (client-go semantics)."""

from __future__ import annotations

import asyncio

import pytest

from agentic_operator.workqueue import WorkQueue


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def drain(queue: WorkQueue[str]) -> list[str]:
    """Every key ready now, each marked done."""
    keys: list[str] = []
    while True:
        try:
            key = await asyncio.wait_for(queue.get(), timeout=0.01)
        except TimeoutError:
            return keys
        keys.append(key)
        queue.done(key)


async def test_a_key_is_queued_once_however_many_events_name_it() -> None:
    queue: WorkQueue[str] = WorkQueue()
    for key in ("a", "b", "a", "a", "b"):
        queue.add(key)
    assert len(queue) == 2
    assert await drain(queue) == ["a", "b"]


async def test_a_key_in_progress_is_not_handed_out_again_but_requeued_when_done() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    key = await queue.get()
    queue.add("a")  # an event while a worker holds the key
    assert await drain(queue) == []  # no second worker gets it
    queue.done(key)
    assert await drain(queue) == ["a"]


async def test_delayed_keys_come_due_and_the_earliest_schedule_wins() -> None:
    clock = Clock()
    queue: WorkQueue[str] = WorkQueue(clock=clock)
    queue.add("a", after=10)
    queue.add("a", after=5)
    queue.add("b", after=20)
    assert await drain(queue) == []
    clock.now = 5
    assert await drain(queue) == ["a"]
    clock.now = 10
    assert await drain(queue) == []  # the superseded schedule does not fire again
    clock.now = 20
    assert await drain(queue) == ["b"]


async def test_failures_back_off_exponentially_until_forgotten() -> None:
    queue: WorkQueue[str] = WorkQueue(base_delay=1, max_delay=5, clock=Clock())
    assert [queue.retry("a") for _ in range(5)] == [1, 2, 4, 5, 5]
    queue.forget("a")
    assert queue.retry("a") == 1


async def test_get_waits_for_a_delayed_key() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a", after=0.05)
    assert await asyncio.wait_for(queue.get(), timeout=2) == "a"


async def test_close_wakes_waiting_workers() -> None:
    queue: WorkQueue[str] = WorkQueue()
    waiter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.close()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiter, timeout=1)


async def test_background_keys_wait_behind_every_foreground_key() -> None:
    """The resync's keys never delay a real event's."""
    queue: WorkQueue[str] = WorkQueue()
    for key in ("r1", "r2", "r3"):
        queue.add(key, background=True)
    queue.add("event")
    queue.add("r2")  # a real event for a key the resync queued: it moves to the front
    queue.add("r3", background=True)  # already queued: no second entry
    assert len(queue) == 4
    assert await drain(queue) == ["event", "r2", "r1", "r3"]
