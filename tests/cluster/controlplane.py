"""A real Kubernetes control plane on loopback, started by kwokctl from the pinned builds.

kwokctl's ``binary`` runtime runs etcd, kube-apiserver (RBAC and the default admission
plugins on), kube-controller-manager (garbage collector, namespace controller, the
workload controllers), kube-scheduler and kwok's controller as local processes, and
writes their certificates and an admin kubeconfig. kwok plays the kubelet for the nodes
created here: it marks scheduled pods Running and Ready (and completes pods owned by
Jobs), but no container ever runs.

    with ControlPlane(tmp_path) as cluster:
        api = cluster.client()                   # admin (system:masters)
        token = cluster.token("team-a", "agentic-workflow")
        as_sa = cluster.client(token=token)      # what that ServiceAccount may do, nothing more

Faults the tests need on demand: :meth:`restart_apiserver` (the API goes away and comes
back on the same port; etcd keeps the data) and :meth:`compact_etcd` (watches resumed from
an older resourceVersion then get 410 Gone).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import kubernetes.client
import kubernetes.config
import urllib3.exceptions
import yaml
from kubernetes.client.exceptions import ApiException

from testkit.tools import tool
from tests.cluster.kube import Kube

KUBE_VERSION = "v1.34.4"  # hack/tools.sh pins the same
# The API server's own record of what ServiceAccounts did (the operator, Argo's executor):
# one line per request, at the Metadata level (who, verb, object, response code).
# Ref: https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {"level": "None", "userGroups": ["system:serviceaccounts:kube-system"]},
        {"level": "Metadata", "userGroups": ["system:serviceaccounts"]},
        {"level": "None"},
    ],
}
T = TypeVar("T")


def free_port() -> int:
    """A TCP port nothing listens on now (loopback)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(check: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.1, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; its last error names the wait."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            if result := check():
                return result
        except (
            ApiException,
            OSError,
            AssertionError,
            urllib3.exceptions.HTTPError,
            kubernetes.config.ConfigException,
        ) as exc:
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}" + (f": {last}" if last else ""))


class ControlPlane:
    """One kwokctl cluster in ``workdir``; stopped (every process) on exit."""

    def __init__(
        self,
        workdir: Path,
        *,
        name: str = "agentic",
        nodes: int = 1,
        timeout: float = 300.0,
        audit_policy: Mapping[str, Any] = AUDIT_POLICY,
    ) -> None:
        self.workdir, self.name, self.nodes, self.timeout = workdir, name, nodes, timeout
        self.audit_policy = audit_policy
        self.home = workdir / "kwok"
        self.cluster_dir = self.home / "clusters" / name
        self.audit_log = self.cluster_dir / "logs" / "audit.log"  # kwokctl's place for it
        self.kubeconfig = workdir / "kubeconfig"
        self._env = {**os.environ, "KWOK_WORKDIR": str(self.home), "KWOK_KUBE_VERSION": KUBE_VERSION}

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _kwokctl(self, *args: str, timeout: float | None = None) -> str:
        done = subprocess.run(
            [str(tool("kwokctl")), "--name", self.name, *args],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=timeout or self.timeout,
        )
        if done.returncode:
            raise RuntimeError(f"kwokctl {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-4000:]}")
        return done.stdout

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        audit_policy = self.workdir / "audit-policy.yaml"
        audit_policy.write_text(yaml.safe_dump(dict(self.audit_policy)))
        self._kwokctl(
            "create", "cluster",
            "--runtime", "binary",
            "--kube-authorization",
            "--kube-admission",
            "--etcd-binary", str(tool("etcd")),
            "--kube-apiserver-binary", str(tool("kube-apiserver")),
            "--kube-controller-manager-binary", str(tool("kube-controller-manager")),
            "--kube-scheduler-binary", str(tool("kube-scheduler")),
            "--kwok-controller-binary", str(tool("kwok")),
            "--kube-audit-policy", str(audit_policy),
            # One instance of each, and nothing here restarts a process that exits: with
            # leader election on, the scheduler and controller-manager exit when they cannot
            # renew their lease while the API server is away (restart_apiserver).
            "--extra-args", "kube-scheduler=leader-elect=false",
            "--extra-args", "kube-controller-manager=leader-elect=false",
            "--kubeconfig", str(self.kubeconfig),
            "--wait", f"{int(self.timeout)}s",
            "--timeout", f"{int(self.timeout)}s",
        )  # fmt: skip
        try:
            wait_for(self._healthy, timeout=self.timeout, what="kube-apiserver to serve")
            for i in range(self.nodes):
                self._create_node(f"kwok-node-{i}")
            wait_for(self._default_service_account, timeout=self.timeout, what="the default ServiceAccount")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every component; bounded, and nothing survives even if kwokctl fails."""
        with contextlib.suppress(Exception):
            self._kwokctl("delete", "cluster", timeout=60)
        for pid_file in (self.cluster_dir / "pids").glob("*.pid"):
            with contextlib.suppress(ValueError, OSError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)

    # -- clients -------------------------------------------------------------------------

    def client(self, *, token: str | None = None) -> kubernetes.client.ApiClient:
        """An API client as the admin (the kubeconfig's client certificate) or as a token."""
        configuration = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
            str(self.kubeconfig), client_configuration=configuration
        )
        if token is not None:
            configuration.cert_file = configuration.key_file = None
            configuration.api_key = {"authorization": f"Bearer {token}"}
        return kubernetes.client.ApiClient(configuration)

    def kube(self, *, token: str | None = None) -> Kube:
        """Plain-dict access (tests/cluster/kube.py) as the admin or as a token."""
        return Kube(self.client(token=token))

    @property
    def server(self) -> str:
        config = yaml.safe_load(self.kubeconfig.read_text())
        return str(config["clusters"][0]["cluster"]["server"])

    def token(self, namespace: str, service_account: str, *, seconds: int = 3600) -> str:
        """A bound token of a ServiceAccount (TokenRequest), as a pod of it would get."""
        core = kubernetes.client.CoreV1Api(self.client())
        request = kubernetes.client.AuthenticationV1TokenRequest(
            spec=kubernetes.client.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds)
        )
        answer = core.create_namespaced_service_account_token(service_account, namespace, request)
        assert answer.status is not None
        return str(answer.status.token)

    def kubeconfig_for(self, path: Path, *, token: str, namespace: str = "default") -> Path:
        """A kubeconfig that logs in with ``token`` only (no client certificate)."""
        config = yaml.safe_load(self.kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "c", "cluster": cluster}],
                    "users": [{"name": "u", "user": {"token": token}}],
                    "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": namespace}}],
                    "current-context": "c",
                }
            )
        )
        return path

    # -- faults --------------------------------------------------------------------------

    def _component(self, name: str) -> dict[str, Any]:
        documents = yaml.safe_load_all((self.cluster_dir / "kwok.yaml").read_text())
        components = next(d["components"] for d in documents if d and "components" in d)
        return next(c for c in components if c["name"] == name)

    def restart_apiserver(self, *, down_for: float = 0.0) -> None:
        """Stop kube-apiserver, wait ``down_for`` seconds, start it again with its own flags;
        return once a new pod runs again: the scheduler's and kwok's watches are back (their
        client-go backoff grows while the server is down, up to 30 s between attempts), so
        what a test sees afterwards is the process under test recovering, not them."""
        pid_file = self.cluster_dir / "pids" / "kube-apiserver.pid"
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        try:  # a graceful stop drains long watches; past that, as a crash would
            wait_for(lambda: not _alive(pid), timeout=10, what="kube-apiserver to stop")
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: not _alive(pid), timeout=10, what="kube-apiserver to be killed")
        time.sleep(down_for)
        component = self._component("kube-apiserver")
        log = (self.cluster_dir / "logs" / "kube-apiserver.log").open("ab")
        process = subprocess.Popen(
            [component["binary"], *component["args"]],
            cwd=component.get("workDir", self.cluster_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        pid_file.write_text(str(process.pid))
        wait_for(self._healthy, timeout=self.timeout, what="kube-apiserver to come back")
        self._pods_run()

    def etcdctl(self, *args: str) -> str:
        """Run etcdctl against the cluster's etcd, e.g. to change what the API server stores
        behind its back while it is down (an object deleted unseen by any watch)."""
        command = [str(tool("etcdctl")), f"--endpoints=http://127.0.0.1:{self._etcd_port()}", *args]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout

    def compact_etcd(self) -> int:
        """Compact etcd at its current revision; returns that revision."""
        endpoint = f"http://127.0.0.1:{self._etcd_port()}"
        etcdctl = [str(tool("etcdctl")), f"--endpoints={endpoint}"]
        status = subprocess.run([*etcdctl, "endpoint", "status", "-w", "json"], check=True, capture_output=True)
        revision = int(yaml.safe_load(status.stdout)[0]["Status"]["header"]["revision"])
        subprocess.run([*etcdctl, "compaction", str(revision), "--physical"], check=True, capture_output=True)
        return revision

    def _etcd_port(self) -> int:
        for port in self._component("etcd")["ports"]:
            if port["name"] == "http":
                return int(port["port"])
        raise RuntimeError("etcd's client port is not in kwok.yaml")

    # -- readiness -----------------------------------------------------------------------

    def _healthy(self) -> bool:
        with self.client() as api:
            kubernetes.client.VersionApi(api).get_code(_request_timeout=2)
        return True

    def _pods_run(self) -> None:
        """A pod is scheduled and kwok runs it (then it is removed, not waited for)."""
        kube = self.kube()
        name = f"probe-{time.monotonic_ns()}"
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "probe", "image": "probe"}], "restartPolicy": "Never"},
        }
        wait_for(lambda: kube.create(pod), timeout=self.timeout, what="a probe pod to be created")
        try:
            wait_for(
                lambda: (
                    (kube.find("v1", "Pod", name, namespace="default") or {}).get("status", {}).get("phase")
                    == "Running"
                ),
                timeout=self.timeout,
                what="the scheduler and kwok to run a pod again",
            )
        finally:
            kube.delete("v1", "Pod", name, namespace="default", grace_period_seconds=0)

    def _default_service_account(self) -> bool:
        return self.kube().find("v1", "ServiceAccount", "default", namespace="default") is not None

    def _create_node(self, name: str) -> None:
        """A node kwok manages (kwokctl's own fake-node shape): room for every test pod."""
        capacity = {"cpu": "64", "memory": "256Gi", "pods": "250", "ephemeral-storage": "1Ti"}
        kube = self.kube()
        kube.create(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "type": "kwok"},
                    "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                },
                "status": {"allocatable": capacity, "capacity": capacity},
            }
        )
        wait_for(lambda: _node_ready(kube.get("v1", "Node", name)), timeout=self.timeout, what=f"node {name} Ready")

    def audit(self, username: str) -> list[dict[str, Any]]:
        """What the API server recorded of ``username``'s requests (audit events, oldest
        first; a watch appears when it ends, with ``stage: ResponseComplete``)."""
        events = (
            [json.loads(line) for line in self.audit_log.read_text().splitlines() if line.strip()]
            if self.audit_log.exists()
            else []
        )
        return [e for e in events if e.get("user", {}).get("username") == username]

    def logs(self, component: str) -> str:
        path = self.cluster_dir / "logs" / f"{component}.log"
        return path.read_text(errors="replace")[-20_000:] if path.exists() else ""


def _alive(pid: int) -> bool:
    """Running, not gone and not a zombie (kwokctl's processes are not our children, and
    whoever inherits them may never reap them)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def _node_ready(node: dict[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
