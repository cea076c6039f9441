"""The informer against the emulated API server: chunked lists, watches, bookmarks, and a
re-list after 410 Gone that reports the deletions nobody saw."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import pytest

from agentic_operator.cache import Store
from agentic_operator.informer import DELETED, Backoff, Informer
from agentic_operator.kubeclient import ApiError, Client, ClusterConfig, path
from testkit.apiserver.cluster import Cluster

NS = "team-a"
CM = path("", "v1", "configmaps", NS)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    from testkit.apiserver.resources import PLATFORM_RESOURCES, ResourceSpec

    configmaps = ResourceSpec("", "v1", "configmaps", "ConfigMap")
    with Cluster((*PLATFORM_RESOURCES, configmaps), namespaces=(NS,)) as running:
        yield running


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "data": data}


class Recorder:
    def __init__(self) -> None:
        self.changes: list[tuple[str, str]] = []
        self.seen = asyncio.Event()

    def __call__(self, kind: str, obj: Mapping[str, Any]) -> None:
        self.changes.append((kind, obj["metadata"]["name"]))
        self.seen.set()

    async def until(self, *wanted: tuple[str, str], timeout: float = 5) -> None:
        async with asyncio.timeout(timeout):
            while not all(w in self.changes for w in wanted):
                self.seen.clear()
                await self.seen.wait()


@contextlib.asynccontextmanager
async def running(informer: Informer) -> AsyncIterator[Informer]:
    task = asyncio.create_task(informer.run())
    try:
        async with asyncio.timeout(5):
            await informer.synced.wait()
        yield informer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await informer.client.close()


async def until(check: Any, timeout: float = 5) -> None:
    """Poll without blocking the loop the informer runs on."""
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


def informer_for(cluster: Cluster, recorder: Recorder, **options: Any) -> Informer:
    client = Client(ClusterConfig(cluster.url, ssl=False), user_agent="agentic-operator/test", timeout=2)
    return Informer(client, CM, Store(), recorder, namespace=NS, rng=random.Random(1), **options)


async def test_lists_in_pages_then_watches(cluster: Cluster) -> None:
    for i in range(5):
        cluster.create("configmaps", NS, configmap(f"cm-{i}"))
    recorder = Recorder()
    async with running(informer_for(cluster, recorder, page_size=2)) as informer:
        assert sorted(recorder.changes) == [("ADDED", f"cm-{i}") for i in range(5)]
        assert cluster.requests(verb="list", resource="configmaps") == 3  # pages of 2, 2, 1
        cluster.patch("configmaps", NS, "cm-0", {"data": {"a": "1"}})
        cluster.delete("configmaps", NS, "cm-1")
        await recorder.until(("MODIFIED", "cm-0"), ("DELETED", "cm-1"))
        assert informer.store.get((NS, "cm-0"))["data"] == {"a": "1"}  # type: ignore[index]
        assert informer.store.get((NS, "cm-1")) is None
        assert informer.lists == 1


async def test_a_relist_after_410_reports_what_was_deleted_in_the_gap(cluster: Cluster) -> None:
    """The fault issue 11 found in kopf: a deletion missed across a re-list stayed cached."""
    for name in ("kept", "changed", "gone"):
        cluster.create("configmaps", NS, configmap(name))
    recorder = Recorder()
    async with running(informer_for(cluster, recorder)) as informer:
        cluster.inject(verb="watch", resource="configmaps", delay=1.0)  # the reconnect waits...
        cluster.drop_watches()
        await until(lambda: cluster.held_requests == 1)
        cluster.delete("configmaps", NS, "gone")  # ...while these happen unseen
        cluster.patch("configmaps", NS, "changed", {"data": {"v": "2"}})
        cluster.create("configmaps", NS, configmap("new"))
        cluster.compact()  # and the history that would have told is gone
        await recorder.until(("DELETED", "gone"), ("MODIFIED", "changed"), ("ADDED", "new"))
        assert informer.lists == 2
        assert sorted(k[1] for k in informer.store.keys_in()) == ["changed", "kept", "new"]
        assert ("MODIFIED", "kept") not in recorder.changes  # unchanged objects are not news


async def test_a_bookmark_lets_a_reconnect_resume_without_a_relist(cluster: Cluster) -> None:
    cluster.create("configmaps", NS, configmap("a"))
    recorder = Recorder()
    async with running(informer_for(cluster, recorder)) as informer:
        cluster.create("workflows", NS, {"metadata": {"name": "elsewhere"}})  # moves the global resourceVersion
        assert cluster.bookmark() == 1
        await asyncio.sleep(0.2)
        cluster.compact()  # history before the bookmark is gone; the bookmark's own version is not
        cluster.drop_watches()
        cluster.create("configmaps", NS, configmap("b"))
        await recorder.until(("ADDED", "b"))
        assert informer.lists == 1


async def test_a_relist_keeps_our_own_writes_newer_than_its_snapshot() -> None:
    """A write the worker cached while a list was in flight is not 'deleted' by that list."""
    store = Store()
    store.put({"metadata": {"namespace": NS, "name": "mine", "resourceVersion": "12"}})
    store.put({"metadata": {"namespace": NS, "name": "old", "resourceVersion": "3"}})
    store.put({"metadata": {"namespace": "other", "name": "theirs", "resourceVersion": "4"}})
    pages = [{"metadata": {"resourceVersion": "10"}, "items": []}]
    recorder = Recorder()
    informer = Informer(ScriptedClient(pages), CM, store, recorder, namespace=NS)  # type: ignore[arg-type]
    assert await informer.list() == "10"
    assert recorder.changes == [(DELETED, "old")]
    assert sorted(store.keys_in()) == [("other", "theirs"), (NS, "mine")]  # another namespace is not ours


async def test_an_expired_continue_token_starts_the_list_again() -> None:
    item = {"metadata": {"namespace": NS, "name": "a", "resourceVersion": "5"}}
    pages: list[Any] = [
        {"metadata": {"resourceVersion": "5", "continue": "t1"}, "items": [item]},
        ApiError(410, {"reason": "Expired", "code": 410}),
        {"metadata": {"resourceVersion": "6", "continue": "t2"}, "items": [item]},
        {"metadata": {"resourceVersion": "6"}, "items": []},
    ]
    client = ScriptedClient(pages)
    informer = Informer(client, CM, Store(), Recorder(), namespace=NS, page_size=1)  # type: ignore[arg-type]
    assert await informer.list() == "6"
    assert [q.get("continue") for q in client.queries] == [None, "t1", None, "t2"]


def test_backoff_grows_with_jitter_up_to_its_cap_and_resets() -> None:
    backoff = Backoff(base=1, cap=8, rng=random.Random(7))
    waits = [backoff.next() for _ in range(6)]
    for wait, ceiling in zip(waits, [1, 2, 4, 8, 8, 8], strict=True):
        assert ceiling / 2 <= wait <= ceiling
    assert len(set(waits)) == len(waits)  # jittered, not in step
    backoff.reset()
    assert backoff.next() <= 1


async def test_errors_back_off_and_the_informer_recovers(cluster: Cluster) -> None:
    cluster.create("configmaps", NS, configmap("a"))
    cluster.inject(verb="list", resource="configmaps", status=500, times=2)
    recorder = Recorder()
    informer = informer_for(cluster, recorder, backoff=Backoff(base=0.05, cap=0.1))
    async with running(informer):
        assert recorder.changes == [("ADDED", "a")]
        assert cluster.requests(verb="list", resource="configmaps", code=500) == 2
        assert informer.healthy


class ScriptedClient:
    """Answers GETs from a script (an exception is raised); records the queries."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers, self.queries = list(answers), list[dict[str, str]]()

    async def get(self, url: str, *, query: Mapping[str, str] | None = None) -> Any:
        self.queries.append(dict(query or {}))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
