"""The async API client: login from a kubeconfig or a token file, Retry-After, errors, watches."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from agentic_operator.kubeclient import (
    ApiError,
    Client,
    ClusterConfig,
    ConfigError,
    TokenFile,
    kubeconfig,
    load_config,
    path,
)
from testkit.apiserver.cluster import Cluster

NS = "team-a"
TEMPLATES = path("argoproj.io", "v1alpha1", "workflowtemplates", NS)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with Cluster(namespaces=(NS,)) as running:
        yield running


def client_for(cluster: Cluster, **config: object) -> Client:
    return Client(ClusterConfig(cluster.url, ssl=False, **config), user_agent="agentic-operator/test")  # type: ignore[arg-type]


async def test_429_is_retried_after_the_time_the_server_asks_for(cluster: Cluster) -> None:
    cluster.inject(verb="list", resource="workflowtemplates", status=429, times=2, retry_after=1)
    client = client_for(cluster)
    try:
        answer = await client.get(TEMPLATES)
    finally:
        await client.close()
    assert answer["items"] == []
    assert cluster.requests(verb="list", resource="workflowtemplates", code=429) == 2
    assert cluster.requests(verb="list", resource="workflowtemplates", code=200) == 1


async def test_errors_without_retry_after_raise_with_the_status_body(cluster: Cluster) -> None:
    client = client_for(cluster)
    client.retries = 2  # each retry waits the server's Retry-After (1 s)
    try:
        with pytest.raises(ApiError) as missing:
            await client.get(TEMPLATES + "/nope")
        cluster.inject(verb="create", resource="workflowtemplates", status=429, times=None, retry_after=1)
        with pytest.raises(ApiError) as throttled:
            await client.create(TEMPLATES, {"metadata": {"name": "t"}})
    finally:
        await client.close()
    assert (missing.value.status, missing.value.reason) == (404, "NotFound")
    assert throttled.value.status == 429 and throttled.value.retry_after == 1
    assert cluster.requests(verb="create", resource="workflowtemplates") == client.retries + 1  # bounded
    assert cluster.requests(verb="get", resource="workflowtemplates") == 1  # a 404 is not retried


async def test_a_401_rereads_a_rotated_token_file_once(cluster: Cluster, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first")
    cluster.inject(verb="list", resource="workflowtemplates", status=401, times=1)
    client = client_for(cluster, token_file=TokenFile(token))
    try:
        await client.get(TEMPLATES)
        cluster.inject(verb="list", resource="workflowtemplates", status=401, times=2)
        with pytest.raises(ApiError):  # refused again after the re-read: that is an answer
            await client.get(TEMPLATES)
    finally:
        await client.close()
    assert cluster.requests(verb="list", resource="workflowtemplates") == 4


def test_a_token_file_is_reread_when_the_kubelet_rotates_it(tmp_path: Path) -> None:
    file = tmp_path / "token"
    file.write_text("one\n")
    now = [0.0]
    source = TokenFile(file, clock=lambda: now[0])
    assert source.token() == "one"
    file.write_text("two")  # rotation: a new file (atomic rename in a projected volume)
    os.utime(file, ns=(10**18, 10**18))
    assert source.token() == "two"
    file.write_text("three")  # same mtime and inode: still re-read after a minute
    os.utime(file, ns=(10**18, 10**18))
    assert source.token() == "two"
    now[0] = 61
    assert source.token() == "three"


async def test_a_watch_line_larger_than_aiohttps_readline_limit(cluster: Cluster) -> None:
    big = {"metadata": {"name": "big"}, "spec": {"blob": "x" * 400_000}}
    client = client_for(cluster)
    try:
        listed = await client.get(TEMPLATES)
        cluster.create("workflowtemplates", NS, big)
        query = {"watch": "true", "resourceVersion": listed["metadata"]["resourceVersion"], "timeoutSeconds": "1"}
        events = [event async for event in client.watch(TEMPLATES, query, idle_timeout=5)]
    finally:
        await client.close()
    assert [(e["type"], len(e["object"]["spec"]["blob"])) for e in events] == [("ADDED", 400_000)]


def write_config(tmp_path: Path, user: dict[str, object], server: str = "http://127.0.0.1:1") -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "team-a"}}],
        "current-context": "x",
    }
    file = tmp_path / "config"
    file.write_text(yaml.safe_dump(config))
    return file


def test_kubeconfig_tokens_inline_and_from_a_file(tmp_path: Path) -> None:
    inline = kubeconfig(write_config(tmp_path, {"token": "abc"}))
    assert (inline.server, inline.namespace, inline.ssl, inline.authorization()) == (
        "http://127.0.0.1:1",
        "team-a",
        False,
        "Bearer abc",
    )
    (tmp_path / "tok").write_text("from-file\n")
    assert kubeconfig(write_config(tmp_path, {"tokenFile": "tok"})).authorization() == "Bearer from-file"


def test_no_credentials_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as none:
        load_config({"KUBECONFIG": str(tmp_path / "missing"), "HOME": str(tmp_path)})
    assert "\n" not in str(none.value) and "KUBECONFIG" in str(none.value)
    with pytest.raises(ConfigError, match="plugin"):
        kubeconfig(write_config(tmp_path, {"exec": {"command": "aws"}}))
    (tmp_path / "broken").write_text("current-context: nowhere\n")
    with pytest.raises(ConfigError, match="no context named 'nowhere'"):
        kubeconfig(tmp_path / "broken")
