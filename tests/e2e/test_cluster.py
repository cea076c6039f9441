"""The emulated cluster behaves as the API server where the operator can tell the difference.

Everything goes through the official ``kubernetes`` client (typed APIs and its Watch), and
one test runs kopf itself against the emulator, so both clients are proven to work with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import kopf
import kubernetes
import pytest
import urllib3
from kubernetes.client import CoreV1Api, CustomObjectsApi
from kubernetes.client.exceptions import (
    ApiException,
    ConflictException,
    NotFoundException,
    ServiceException,
    UnprocessableEntityException,
)

from agentic_operator import api, argo_names
from testkit.apiserver.cluster import SHUTDOWN_GRACE, Cluster
from testkit.factories import workload

pytestmark = pytest.mark.e2e

# CustomObjectsApi's methods return plain dicts, typed as ``object``: tests index into them.
Objects = Any

NS = "default"
AW = (api.GROUP, api.VERSION, NS, api.PLURAL)
WF = (argo_names.GROUP, argo_names.VERSION, NS, argo_names.WORKFLOWS)


@pytest.fixture
def custom(cluster: Cluster) -> Objects:
    return CustomObjectsApi(cluster.api_client)


@pytest.fixture
def core(cluster: Cluster) -> CoreV1Api:
    return CoreV1Api(cluster.api_client)


def aw(name: str, **labels: str) -> dict[str, Any]:
    body = workload(name, NS)
    body["metadata"]["labels"] = labels
    return body


def wf(name: str, **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": argo_names.API_VERSION,
        "kind": "Workflow",
        "metadata": {"name": name, **metadata},
        "spec": {"workflowTemplateRef": {"name": "visual-analysis-template"}},
    }


def rv(obj: dict[str, Any]) -> int:
    return int(obj["metadata"]["resourceVersion"])


def status_of(exc: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body or "{}")
    return body


def watch(custom: Objects, timeout: int = 3, **kwargs: Any) -> Generator[tuple[str, str, dict[str, Any]]]:
    """Workload events through the official client's Watch; the server ends it after ``timeout`` s."""
    stream = kubernetes.watch.Watch().stream(  # type: ignore[no-untyped-call]
        custom.list_namespaced_custom_object, *AW, timeout_seconds=timeout, _request_timeout=timeout + 2, **kwargs
    )
    return ((e["type"], e["object"]["metadata"]["name"], e["object"]) for e in stream)


# -- discovery


def test_discovery_answers_what_kopf_and_the_typed_client_read(cluster: Cluster, core: CoreV1Api) -> None:
    client = cluster.api_client
    assert kubernetes.client.CoreApi(client).get_api_versions().versions == ["v1"]
    groups = {g.name for g in kubernetes.client.ApisApi(client).get_api_versions().groups}
    assert {api.GROUP, argo_names.GROUP, "apiextensions.k8s.io", "events.k8s.io"} <= groups

    mine = {r.name: r for r in CustomObjectsApi(client).get_api_resources(api.GROUP, api.VERSION).resources}
    assert set(mine) == {"agentworkloads", "agentworkloads/status"}
    assert mine["agentworkloads"].namespaced and {"list", "watch", "patch"} <= set(mine["agentworkloads"].verbs)
    assert mine["agentworkloads"].kind == api.KIND and mine["agentworkloads"].short_names == ["aw"]
    argos = {r.name for r in CustomObjectsApi(client).get_api_resources(argo_names.GROUP, argo_names.VERSION).resources}
    assert argos == {"workflows", "workflowtemplates"}  # no workflows/status, as Argo's CRD

    listing = core.get_api_resources()
    assert listing.group_version == "v1"  # kmock says "/v1"
    corev1 = {r.name: r for r in listing.resources}
    assert corev1["namespaces"].namespaced is False and corev1["events"].namespaced is True
    assert [n.metadata.name for n in core.list_namespace().items if n.metadata] == [NS]  # kmock 0.8 answers 500


# -- create, read, server-set fields


def test_create_sets_server_fields_and_get_and_list_return_the_object(custom: Objects) -> None:
    body = aw("a") | {"status": {"phase": "Succeeded"}}
    created = custom.create_namespaced_custom_object(*AW, body)
    meta = created["metadata"]
    assert meta["uid"] != body["metadata"]["uid"] and len(meta["uid"]) == 36  # the client's is ignored
    assert meta["creationTimestamp"].endswith("Z") and meta["generation"] == 1
    assert "status" not in created  # create cannot set status with a status subresource
    assert custom.get_namespaced_custom_object(*AW, "a") == created
    listed = custom.list_namespaced_custom_object(*AW)
    assert listed["items"] == [created] and listed["kind"] == "AgentWorkloadList"
    assert int(listed["metadata"]["resourceVersion"]) >= rv(created)


def test_generate_name_makes_a_name_as_for_kopfs_events(cluster: Cluster) -> None:
    event = {"metadata": {"generateName": "kopf-event-"}, "involvedObject": {"name": "a"}, "reason": "Logging"}
    name = cluster.create("events", NS, event)["metadata"]["name"]
    assert name.startswith("kopf-event-") and len(name) == 16


def test_every_write_takes_the_next_global_resource_version(cluster: Cluster, custom: Objects) -> None:
    before = cluster.resource_version
    versions = [
        rv(custom.create_namespaced_custom_object(*AW, aw("a"))),
        rv(custom.create_namespaced_custom_object(*WF, wf("w"))),
        rv(custom.patch_namespaced_custom_object(*AW, "a", {"metadata": {"labels": {"x": "y"}}})),
        rv(custom.patch_namespaced_custom_object_status(*AW, "a", {"status": {"phase": "Running"}})),
    ]
    assert versions == list(range(before + 1, before + 5))
    deleted = custom.delete_namespaced_custom_object(*WF, "w")  # a Status, as a real server answers
    assert (deleted["kind"], deleted["status"], deleted["details"]["name"]) == ("Status", "Success", "w")
    assert cluster.resource_version == versions[-1] + 1


def test_create_of_an_existing_name_is_already_exists(custom: Objects) -> None:
    custom.create_namespaced_custom_object(*AW, aw("a"))
    with pytest.raises(ConflictException) as exc:
        custom.create_namespaced_custom_object(*AW, aw("a"))
    assert status_of(exc.value) | {"message": ""} == {
        "apiVersion": "v1",
        "kind": "Status",
        "metadata": {},
        "status": "Failure",
        "message": "",
        "reason": "AlreadyExists",
        "details": {"name": "a", "group": api.GROUP, "kind": api.PLURAL},
        "code": 409,
    }


def test_missing_objects_answer_a_not_found_status(custom: Objects) -> None:
    for call, extra in (
        (custom.get_namespaced_custom_object, ()),
        (custom.patch_namespaced_custom_object, ({"spec": {}},)),
        (custom.replace_namespaced_custom_object, (aw("nope"),)),
        (custom.delete_namespaced_custom_object, ()),
    ):
        with pytest.raises(NotFoundException) as exc:
            call(*AW, "nope", *extra)
        assert status_of(exc.value)["reason"] == "NotFound" and status_of(exc.value)["kind"] == "Status"


# -- replace and patch


def test_replace_needs_the_current_resource_version(custom: Objects) -> None:
    first = custom.create_namespaced_custom_object(*WF, wf("w"))
    second = custom.patch_namespaced_custom_object(*WF, "w", {"spec": {"suspend": True}})

    with pytest.raises(ConflictException) as exc:
        custom.replace_namespaced_custom_object(*WF, "w", first | {"spec": {"shutdown": "Stop"}})
    assert status_of(exc.value)["reason"] == "Conflict"
    assert custom.get_namespaced_custom_object(*WF, "w") == second

    replaced = custom.replace_namespaced_custom_object(*WF, "w", second | {"spec": {"shutdown": "Stop"}})
    assert replaced["spec"] == {"shutdown": "Stop"} and rv(replaced) > rv(second)
    assert replaced["metadata"]["uid"] == first["metadata"]["uid"]

    unversioned = replaced | {"metadata": {"name": "w"}}
    with pytest.raises(UnprocessableEntityException):
        custom.replace_namespaced_custom_object(*WF, "w", unversioned)


def test_merge_and_json_patches_and_their_failures(cluster: Cluster, custom: Objects) -> None:
    created = custom.create_namespaced_custom_object(*WF, wf("w", labels={"a": "1", "b": "2"}))

    merged = custom.patch_namespaced_custom_object(*WF, "w", {"metadata": {"labels": {"a": None, "c": "3"}}})
    assert merged["metadata"]["labels"] == {"b": "2", "c": "3"}

    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": merged["metadata"]["resourceVersion"]},
        {"op": "add", "path": "/spec/suspend", "value": True},
    ]
    patched = cluster.patch("workflows", NS, "w", ops)  # application/json-patch+json
    assert patched["spec"]["suspend"] is True

    stale_test = [{"op": "test", "path": "/metadata/resourceVersion", "value": created["metadata"]["resourceVersion"]}]
    with pytest.raises(UnprocessableEntityException):  # kmock 0.8 answers 500, and kopf retries with backoff
        cluster.patch("workflows", NS, "w", [*stale_test, {"op": "remove", "path": "/spec/suspend"}])
    with pytest.raises(UnprocessableEntityException):
        cluster.patch("workflows", NS, "w", [{"op": "remove", "path": "/spec/nothing"}])

    for unsupported in ("application/strategic-merge-patch+json", "application/apply-patch+yaml"):
        with pytest.raises(ApiException) as exc:  # strategic merge: no custom resource takes it
            custom.patch_namespaced_custom_object(*WF, "w", {"spec": {}}, field_manager="t", _content_type=unsupported)
        assert exc.value.status == 415  # server-side apply: a real server serves it; the emulator does not

    stale_merge = {"metadata": {"resourceVersion": created["metadata"]["resourceVersion"]}, "spec": {"suspend": False}}
    with pytest.raises(ConflictException):
        custom.patch_namespaced_custom_object(*WF, "w", stale_merge)
    assert custom.get_namespaced_custom_object(*WF, "w") == patched  # no failed patch changed anything


# -- status subresource and generation


def test_agentworkloads_have_a_status_subresource(custom: Objects) -> None:
    custom.create_namespaced_custom_object(*AW, aw("a"))
    status = custom.patch_namespaced_custom_object_status(*AW, "a", {"status": {"phase": "Running"}, "spec": {"x": 1}})
    assert status["status"] == {"phase": "Running"} and "x" not in status["spec"]  # /status writes status only

    main = custom.patch_namespaced_custom_object(
        *AW, "a", {"status": {"phase": "Failed"}, "metadata": {"labels": {"x": "y"}}}
    )
    assert main["status"] == {"phase": "Running"} and main["metadata"]["labels"] == {"x": "y"}  # status kept

    replaced = custom.replace_namespaced_custom_object(*AW, "a", main | {"status": {"phase": "Failed"}})
    assert replaced["status"] == {"phase": "Running"}
    replaced = custom.replace_namespaced_custom_object_status(
        *AW, "a", replaced | {"status": {"phase": "Succeeded"}, "spec": {"objective": "z"}}
    )
    assert replaced["status"] == {"phase": "Succeeded"} and replaced["spec"] == main["spec"]
    assert custom.get_namespaced_custom_object_status(*AW, "a") == replaced


def test_workflows_have_no_status_subresource(custom: Objects) -> None:
    custom.create_namespaced_custom_object(*WF, wf("w"))
    with pytest.raises(NotFoundException):
        custom.patch_namespaced_custom_object_status(*WF, "w", {"status": {"phase": "Running"}})
    patched = custom.patch_namespaced_custom_object(*WF, "w", {"status": {"phase": "Running"}})
    assert patched["status"] == {"phase": "Running"}
    assert patched["metadata"]["generation"] == 2  # without the subresource, status is content (as in Argo)


def test_generation_grows_with_spec_changes_only(custom: Objects) -> None:
    """(An AgentWorkload's spec is immutable on a real server: a Workflow's spec changes.)"""
    custom.create_namespaced_custom_object(*AW, aw("a"))
    labelled = custom.patch_namespaced_custom_object(*AW, "a", {"metadata": {"labels": {"x": "y"}}})
    statused = custom.patch_namespaced_custom_object_status(*AW, "a", {"status": {"phase": "Running"}})
    custom.create_namespaced_custom_object(*WF, wf("w"))
    respecced = custom.patch_namespaced_custom_object(*WF, "w", {"spec": {"suspend": True}})
    generations = [o["metadata"]["generation"] for o in (labelled, statused, respecced)]
    assert generations == [1, 1, 2]


def test_the_helpers_round_trip_and_refuse_bad_bodies(cluster: Cluster) -> None:
    created = cluster.create("agentworkloads", NS, aw("a"))
    cluster.patch("agentworkloads", NS, "a", {"status": {"phase": "Running"}}, subresource="status")
    assert cluster.get("agentworkloads", NS, "a", subresource="status")["status"] == {"phase": "Running"}
    fresh = cluster.get("agentworkloads", NS, "a")
    relabelled = fresh | {"metadata": fresh["metadata"] | {"labels": {"x": "y"}}}
    replaced = cluster.replace("agentworkloads", NS, "a", relabelled)
    assert replaced["metadata"]["labels"] == {"x": "y"} and replaced["status"] == {"phase": "Running"}
    with pytest.raises(ConflictException):
        cluster.delete(
            "agentworkloads", NS, "a", preconditions={"resourceVersion": created["metadata"]["resourceVersion"]}
        )
    cluster.delete("agentworkloads", NS, "a", preconditions={"uid": created["metadata"]["uid"]})
    assert cluster.objects("agentworkloads") == []

    with pytest.raises(ApiException) as exc:
        cluster.create("agentworkloads", NS, aw("b") | {"metadata": {"name": "b", "namespace": "other"}})
    assert exc.value.status == 400
    with pytest.raises(UnprocessableEntityException):
        cluster.create("agentworkloads", NS, {"spec": {}})  # neither name nor generateName


def test_faults_are_checked_when_injected(cluster: Cluster) -> None:
    for bad in ({}, {"delay": 31.0}, {"status": 200}, {"status": 500, "times": 0}):
        with pytest.raises(ValueError):
            cluster.inject(**bad)


# -- watches


def test_a_watch_from_a_resource_version_replays_only_newer_changes(custom: Objects) -> None:
    custom.create_namespaced_custom_object(*AW, aw("a"))
    b = custom.create_namespaced_custom_object(*AW, aw("b"))
    custom.patch_namespaced_custom_object(*AW, "a", {"metadata": {"labels": {"x": "changed"}}})

    with closing(watch(custom, resource_version=b["metadata"]["resourceVersion"])) as events:
        kind, name, obj = next(events)
        assert (kind, name, obj["metadata"]["labels"]) == ("MODIFIED", "a", {"x": "changed"})
        custom.create_namespaced_custom_object(*AW, aw("c"))  # live, after the replay
        assert next(events)[:2] == ("ADDED", "c")

    with closing(watch(custom)) as events:  # no resourceVersion: the current objects, as ADDED
        assert [next(events)[:2] for _ in range(3)] == [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c")]


def test_initial_events_end_with_a_bookmark(cluster: Cluster, core: CoreV1Api) -> None:
    stream = kubernetes.watch.Watch().stream(  # type: ignore[no-untyped-call]
        core.list_namespace,
        send_initial_events=True,
        resource_version_match="NotOlderThan",
        allow_watch_bookmarks=True,
        timeout_seconds=3,
        _request_timeout=5,
    )
    with closing(stream):
        added, bookmark = next(stream), next(stream)
    assert (added["type"], added["raw_object"]["metadata"]["name"]) == ("ADDED", NS)
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["raw_object"]["metadata"] == {
        "resourceVersion": str(cluster.resource_version),
        "annotations": {"k8s.io/initial-events-end": "true"},
    }


def test_a_watch_from_a_forgotten_resource_version_is_expired() -> None:
    with Cluster(history=2) as small:
        custom: Objects = CustomObjectsApi(small.api_client)
        first = custom.create_namespaced_custom_object(*AW, aw("a"))
        for value in ("x", "y", "z"):
            custom.patch_namespaced_custom_object(*AW, "a", {"metadata": {"labels": {"x": value}}})
        with pytest.raises(ApiException) as exc, closing(watch(custom, resource_version=str(rv(first)))) as events:
            next(events)
        assert exc.value.status == 410  # in-stream ERROR 410: kopf relists, the client raises


def test_a_write_that_changes_nothing_is_no_write(cluster: Cluster, custom: Objects) -> None:
    created = custom.create_namespaced_custom_object(*AW, aw("a"))
    with closing(watch(custom, resource_version=created["metadata"]["resourceVersion"])) as events:
        same = custom.patch_namespaced_custom_object(*AW, "a", {"spec": {"objective": created["spec"]["objective"]}})
        again = custom.replace_namespaced_custom_object(*AW, "a", created)
        assert rv(same) == rv(again) == rv(created) == cluster.resource_version
        custom.patch_namespaced_custom_object(*AW, "a", {"metadata": {"labels": {"x": "y"}}})
        kind, _, obj = next(events)  # the first event is the real change
        assert kind == "MODIFIED" and obj["metadata"]["labels"] == {"x": "y"}


def test_label_selectors_filter_lists_and_watches(cluster: Cluster, custom: Objects) -> None:
    since = str(cluster.resource_version)
    custom.create_namespaced_custom_object(*AW, aw("a", tier="gold"))
    custom.create_namespaced_custom_object(*AW, aw("b"))
    custom.create_namespaced_custom_object(*AW, aw("c", tier="silver", team="x"))

    def names(selector: str) -> list[str]:
        return [
            o["metadata"]["name"] for o in custom.list_namespaced_custom_object(*AW, label_selector=selector)["items"]
        ]

    assert names("tier=gold") == ["a"]
    assert names("tier!=gold") == ["b", "c"]
    assert names("tier in (gold,silver),team") == ["c"]
    assert names("!tier") == ["b"]
    assert [o["metadata"]["name"] for o in cluster.objects("agentworkloads", NS, label_selector="team=x")] == ["c"]
    by_name = custom.list_namespaced_custom_object(*AW, field_selector="metadata.name!=a,metadata.namespace=default")
    assert [o["metadata"]["name"] for o in by_name["items"]] == ["b", "c"]
    with pytest.raises(ApiException) as exc:
        names("tier in gold")
    assert exc.value.status == 400

    custom.patch_namespaced_custom_object(*AW, "b", {"metadata": {"labels": {"tier": "gold"}}})
    custom.patch_namespaced_custom_object(*AW, "a", {"metadata": {"labels": {"tier": "bronze"}}})
    with closing(watch(custom, resource_version=since, label_selector="tier=gold")) as events:
        seen = [next(events)[:2] for _ in range(3)]
    assert seen == [("ADDED", "a"), ("ADDED", "b"), ("DELETED", "a")]  # b entered, a left the selection


# -- deletion


def test_finalizers_hold_deletion_until_removed(custom: Objects) -> None:
    custom.create_namespaced_custom_object(*AW, aw("a") | {"metadata": {"name": "a", "finalizers": ["x/y"]}})
    deleting = custom.delete_namespaced_custom_object(*AW, "a")
    assert deleting["metadata"]["deletionTimestamp"]
    assert custom.get_namespaced_custom_object(*AW, "a")["metadata"]["finalizers"] == ["x/y"]
    with pytest.raises(UnprocessableEntityException):
        custom.patch_namespaced_custom_object(*AW, "a", {"metadata": {"finalizers": ["x/y", "x/z"]}})

    custom.patch_namespaced_custom_object(*AW, "a", {"metadata": {"finalizers": None}})
    with pytest.raises(NotFoundException):
        custom.get_namespaced_custom_object(*AW, "a")


# -- faults and counts


def test_injected_errors_fail_matching_requests_then_service_resumes(cluster: Cluster, custom: Objects) -> None:
    cluster.inject(verb="list", resource="agentworkloads", status=500, times=2)
    for _ in range(2):
        with pytest.raises(ServiceException):
            custom.list_namespaced_custom_object(*AW)
    assert custom.list_namespaced_custom_object(*AW)["items"] == []

    created = custom.create_namespaced_custom_object(*WF, wf("w"))
    cluster.inject(method="put", resource="workflows", status=409)
    with pytest.raises(ConflictException):
        custom.replace_namespaced_custom_object(*WF, "w", created | {"spec": {"suspend": True}})
    assert custom.get_namespaced_custom_object(*WF, "w") == created  # the fault came before any write
    custom.replace_namespaced_custom_object(*WF, "w", created | {"spec": {"suspend": True}})

    assert cluster.requests(verb="list", resource="agentworkloads") == 3
    assert cluster.requests(verb="list", resource="agentworkloads", code=500) == 2
    assert cluster.requests(method="PUT", resource="workflows", code=(200, 409)) == 2


def test_an_injected_delay_holds_the_response_then_service_resumes(cluster: Cluster, core: CoreV1Api) -> None:
    cluster.inject(verb="get", resource="namespaces", delay=0.3)
    start = time.monotonic()
    core.read_namespace(NS)
    assert 0.3 <= time.monotonic() - start < 2

    cluster.inject(verb="get", resource="namespaces", delay=1.0, times=None)
    with pytest.raises(urllib3.exceptions.MaxRetryError):  # a timeout, as the client sees it...
        core.read_namespace(NS, _request_timeout=0.1)
    # ...after urllib3's default Retry(3) silently re-sent the GET three times.
    cluster.wait_for(lambda: cluster.requests(verb="get", resource="namespaces", code=499) == 4)

    cluster.clear_faults()
    start = time.monotonic()
    core.read_namespace(NS)
    assert time.monotonic() - start < 0.3


def test_requests_are_counted_by_verb_resource_and_subresource(cluster: Cluster, custom: Objects) -> None:
    cluster.reset_requests()
    custom.create_namespaced_custom_object(*AW, aw("a"))
    custom.patch_namespaced_custom_object(*AW, "a", {"metadata": {"labels": {"x": "y"}}})
    custom.patch_namespaced_custom_object_status(*AW, "a", {"status": {"phase": "Running"}})
    custom.get_namespaced_custom_object(*AW, "a")

    assert cluster.requests() == 4
    assert cluster.requests(resource="agentworkloads", verb="patch") == 2
    assert cluster.requests(resource="agentworkloads", verb="patch", subresource="status") == 1
    assert cluster.requests(resource="agentworkloads", verb="patch", subresource="") == 1
    assert cluster.requests(verb=("create", "update", "patch", "delete")) == 3
    assert cluster.requests(name="a", namespace=NS) == 3


def test_request_cost_does_not_grow_with_the_number_of_requests(cluster: Cluster) -> None:
    def timings(count: int) -> list[float]:
        spent = []
        for _ in range(count):
            start = time.perf_counter()
            cluster.request("GET", "/api/v1/namespaces/default")
            spent.append(time.perf_counter() - start)
        return spent

    early = statistics.median(timings(50))
    timings(400)
    late = statistics.median(timings(50))
    assert late < 3 * early  # kmock 0.8's own routing: ~25x slower after 500 requests
    assert not list(cluster.emulator)  # kmock itself keeps no request


# -- lifecycle, kubeconfig, and kopf


def test_stopping_ends_watches_and_held_requests_promptly() -> None:
    cluster = Cluster().start()
    try:
        custom = CustomObjectsApi(cluster.api_client)
        cluster.inject(verb="get", resource="namespaces", delay=20)
        watcher = threading.Thread(target=lambda: list(watch(custom, timeout=30)), daemon=True)
        holder = threading.Thread(target=lambda: CoreV1Api(cluster.api_client).read_namespace(NS), daemon=True)
        watcher.start()
        holder.start()
        cluster.wait_for(lambda: cluster.open_watches == 1 and cluster.held_requests == 1)
        start = time.monotonic()
    finally:
        cluster.stop()
    watcher.join(2)
    holder.join(2)
    assert time.monotonic() - start < SHUTDOWN_GRACE  # ended by the emulator, not by aiohttp's grace
    assert not watcher.is_alive() and not holder.is_alive()
    assert not [t for t in threading.enumerate() if t.name == "kmock-cluster"]


def test_the_kubeconfig_serves_the_client_and_kopfs_logins(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = cluster.kubeconfig(tmp_path / "kubeconfig")
    client = kubernetes.config.new_client_from_config(config_file=str(path))  # type: ignore[no-untyped-call]
    assert CoreV1Api(client).read_namespace(NS).to_dict()["metadata"]["name"] == NS

    monkeypatch.setenv("KUBECONFIG", str(path))  # kopf's own reader takes it at call time...
    info = kopf.login_with_kubeconfig(settings=kopf.OperatorSettings())
    assert info is not None and info.server == cluster.url
    # ...the client's (under kopf's default login) at import time, and it sets a global default.
    monkeypatch.setattr(kubernetes.config.kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))
    monkeypatch.setattr(kubernetes.client.Configuration, "_default", None)
    info = kopf.login_via_client(logger=logging.getLogger(__name__), settings=kopf.OperatorSettings())
    assert info is not None and info.server == cluster.url


@contextlib.contextmanager
def kopf_watching_workloads(cluster: Cluster, settings: kopf.OperatorSettings) -> Iterator[queue.Queue[Any]]:
    """kopf in a thread with its own loop; yields the (type, name) of each event it handles."""
    registry = kopf.OperatorRegistry()
    seen: queue.Queue[tuple[str | None, str]] = queue.Queue()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=cluster.url)

    @kopf.on.event(api.GROUP, api.VERSION, api.PLURAL, registry=registry)
    def record(event: kopf.RawEvent, **_: Any) -> None:
        seen.put((event["type"], event["object"]["metadata"]["name"]))

    settings.scanning.disabled = True
    stop = threading.Event()
    operator = threading.Thread(
        target=lambda: asyncio.run(
            kopf.operator(registry=registry, settings=settings, standalone=True, namespaces=[NS], stop_flag=stop)
        ),
        daemon=True,
    )
    operator.start()
    try:
        yield seen
    finally:
        stop.set()
        operator.join(5)
    assert not operator.is_alive()


def test_kopf_lists_watches_and_resumes_without_replays(cluster: Cluster, custom: Objects) -> None:
    custom.create_namespaced_custom_object(*AW, aw("a"))
    settings = kopf.OperatorSettings()
    settings.watching.server_timeout = 1  # the server ends each watch after 1 s; kopf watches again
    with kopf_watching_workloads(cluster, settings) as seen:
        assert seen.get(timeout=5) == (None, "a")  # kopf's initial listing
        custom.patch_namespaced_custom_object(*AW, "a", {"metadata": {"labels": {"x": "changed"}}})
        custom.create_namespaced_custom_object(*AW, aw("b"))
        assert [seen.get(timeout=5) for _ in range(2)] == [("MODIFIED", "a"), ("ADDED", "b")]

        cluster.wait_for(lambda: cluster.requests(verb="watch", resource=api.PLURAL) == 1)  # the first one ended
        custom.patch_namespaced_custom_object(*AW, "b", {"metadata": {"labels": {"x": "changed"}}})
        assert seen.get(timeout=5) == ("MODIFIED", "b")  # resumed from its resourceVersion: no replay
    assert cluster.requests(verb="list", resource=api.PLURAL, namespace=NS) == 1
    assert seen.empty()


def test_kopf_streams_the_initial_objects_without_listing(cluster: Cluster, custom: Objects) -> None:
    custom.create_namespaced_custom_object(*AW, aw("a"))
    settings = kopf.OperatorSettings()
    settings.watching.initial_streaming = True  # sendInitialEvents, ended by a bookmark
    with kopf_watching_workloads(cluster, settings) as seen:
        assert seen.get(timeout=5) == (None, "a")
        custom.patch_namespaced_custom_object(*AW, "a", {"metadata": {"labels": {"x": "changed"}}})
        assert seen.get(timeout=5) == ("MODIFIED", "a")
    assert cluster.requests(verb="list") == 0 and seen.empty()


OPERATOR = """
import kopf

@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_):
    settings.scanning.disabled = True

@kopf.on.event("agentic.dev", "v1alpha1", "agentworkloads")
def mark(patch, **_):
    patch.metadata.annotations["agentic.dev/seen"] = "yes"
"""


def test_an_operator_process_logs_in_with_the_kubeconfig(cluster: Cluster, tmp_path: Path) -> None:
    (tmp_path / "operator.py").write_text(OPERATOR)
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig(tmp_path / "kubeconfig"))}
    command = [sys.executable, "-m", "kopf", "run", "--standalone", "--namespace", NS, str(tmp_path / "operator.py")]
    cluster.create("agentworkloads", NS, aw("a"))
    log = tmp_path / "operator.log"  # a file, not a pipe: nobody reads while it runs
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:

        def seen(name: str) -> bool:
            annotations: dict[str, str] = cluster.get("agentworkloads", NS, name)["metadata"].get("annotations", {})
            return annotations.get("agentic.dev/seen") == "yes"

        cluster.wait_for(lambda: seen("a"), timeout=10)
        cluster.create("agentworkloads", NS, aw("b"))
        cluster.wait_for(lambda: seen("b"))
    finally:
        process.terminate()  # kopf stops gracefully on SIGTERM
        try:
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 0, log.read_text()
    # The handler's own patch comes back as MODIFIED and runs it once more; that second patch
    # changes nothing, so no event follows (kmock 0.8 would emit one, and loop forever).
    assert cluster.requests(verb="patch", name="a") == 2
