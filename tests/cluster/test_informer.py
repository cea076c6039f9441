"""The operator's informer and client against the real kube-apiserver: chunked lists,
client-certificate and token logins, and a re-list after 410 Gone that reports an object
deleted while no watch could see it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentic_operator.cache import Store
from agentic_operator.informer import Backoff, Informer
from agentic_operator.kubeclient import Client, kubeconfig, path
from tests.cluster.controlplane import ControlPlane, _alive

NS = "informer-check"
CONFIGMAPS = path("", "v1", "configmaps", NS)


def configmap(name: str) -> dict[str, Any]:
    meta = {"name": name, "namespace": NS, "labels": {"informer-check": "yes"}}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"v": "1"}}


class Recorder:
    def __init__(self) -> None:
        self.changes: list[tuple[str, str]] = []

    def __call__(self, kind: str, obj: Mapping[str, Any]) -> None:
        self.changes.append((kind, obj["metadata"]["name"]))

    async def until(self, wanted: tuple[str, str], timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while wanted not in self.changes:
                await asyncio.sleep(0.05)


def test_a_relist_after_the_api_server_lost_the_history_reports_the_deletion(cluster: ControlPlane) -> None:
    """etcd loses the deletion's history (compacted) while kube-apiserver is down and its
    watch cache with it: the resumed watch is 410 Gone, and only the re-list can tell."""
    kube = cluster.kube()
    kube.namespace(NS)
    for i in range(5):
        kube.create(configmap(f"cm-{i}"))
    recorder = Recorder()

    async def scenario() -> Informer:
        client = Client(kubeconfig(cluster.kubeconfig), user_agent="agentic-operator/test")  # client certificate
        informer = Informer(
            client,
            CONFIGMAPS,
            Store(),
            recorder,
            namespace=NS,
            label_selector="informer-check=yes",
            page_size=2,
            backoff=Backoff(base=0.2, cap=2),
        )
        task = asyncio.create_task(informer.run())
        try:
            async with asyncio.timeout(30):
                await informer.synced.wait()
            assert sorted(k[1] for k in informer.store.keys_in()) == [f"cm-{i}" for i in range(5)]
            kube.patch("v1", "ConfigMap", "cm-0", {"data": {"v": "2"}}, namespace=NS)
            await recorder.until(("MODIFIED", "cm-0"), 30)

            pid = int((cluster.cluster_dir / "pids" / "kube-apiserver.pid").read_text())
            restart = threading.Thread(target=cluster.restart_apiserver, kwargs={"down_for": 3.0})
            restart.start()
            while _alive(pid):
                await asyncio.sleep(0.05)
            cluster.etcdctl("del", f"/registry/configmaps/{NS}/cm-1")  # unseen by any watch
            cluster.compact_etcd()
            await asyncio.to_thread(restart.join, 120)
            await recorder.until(("DELETED", "cm-1"), 60)
            return informer
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await client.close()

    informer = asyncio.run(scenario())
    assert informer.lists >= 2
    assert sorted(k[1] for k in informer.store.keys_in()) == ["cm-0", "cm-2", "cm-3", "cm-4"]
    assert kube.find("v1", "ConfigMap", "cm-1", namespace=NS) is None


def test_a_service_account_token_logs_in_and_lists_in_pages(cluster: ControlPlane, tmp_path: Path) -> None:
    kube = cluster.kube()
    kube.namespace(NS)
    meta = {"name": "reader", "namespace": NS}
    kube.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta})
    rule = {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list", "watch"]}
    kube.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta, "rules": [rule]})
    kube.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": NS}],
        }
    )
    config = kubeconfig(cluster.kubeconfig_for(tmp_path / "kubeconfig", token=cluster.token(NS, "reader")))

    async def listed() -> tuple[int, list[str]]:
        client = Client(config, user_agent="agentic-operator/test")
        informer = Informer(client, CONFIGMAPS, Store(), Recorder(), namespace=NS, page_size=1)
        try:
            async with asyncio.timeout(30):
                while True:  # RBAC caches may take a moment to show the new binding
                    with contextlib.suppress(Exception):
                        await informer.list()
                        break
                    await asyncio.sleep(0.2)
        finally:
            await client.close()
        return informer.lists, sorted(k[1] for k in informer.store.keys_in())

    lists, names = asyncio.run(listed())
    assert lists == 1 and "kube-root-ca.crt" in names
