"""Argo Workflows' own controller, built from its module, run out of cluster.

It runs as Argo's installation would (its ConfigMap in its namespace, watching Workflows
in every namespace), with the admin's kubeconfig standing in for its ClusterRole, and
leader election off (one instance). Its ConfigMap can be changed while it runs: the
controller watches it (e.g. ``workflowRestrictions: {templateReferencing: Strict}``).

It creates real pods, which the scheduler binds to kwok's nodes and kwok marks Running;
no container runs, so no executor reports outputs or finishes a pod. A test plays those
parts (:mod:`tests.cluster.executor`).
"""

from __future__ import annotations

import os
import subprocess
import urllib.request
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from kubernetes.client.exceptions import ApiException

from testkit.tools import argo_crds, tool
from tests.cluster.controlplane import ControlPlane, free_port, wait_for
from tests.cluster.kube import Kube

NAMESPACE = "argo"
CONFIGMAP = "workflow-controller-configmap"
CONTROLLER_ENV = {
    "LEADER_ELECTION_DISABLE": "true",
    # How long the controller waits before it looks at a Workflow again after a pod or task
    # result changed (10 s by default); Argo's own test setup uses 1 s (its Makefile's
    # DEFAULT_REQUEUE_TIME, "by keeping this short we speed up tests").
    "DEFAULT_REQUEUE_TIME": "1s",
}


def install_crds(cluster: ControlPlane) -> list[str]:
    """Argo's CRDs (the minimal ones the chart installs), created and Established."""
    kube = cluster.kube()
    names = []
    for path in argo_crds():
        crd = yaml.safe_load(path.read_text())
        try:
            kube.create(crd)
        except ApiException as exc:
            if exc.status != 409:  # already there: a CRD is cluster-wide and kept
                raise
        names.append(crd["metadata"]["name"])
    for name in names:
        wait_for(partial(established, kube, name), timeout=60, what=f"CRD {name} Established")
    return names


def established(kube: Kube, name: str) -> bool:
    crd = kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


class ArgoController:
    """``workflow-controller`` as a process; its log in ``workdir``.

    A test that needs a controller of its own (a setting the session's must not have, or
    an environment variable such as ``MAX_WORKFLOW_SIZE``) gives it its own ``configmap``
    and an ``instanceID`` in its config: it then handles only Workflows labelled
    ``workflows.argoproj.io/controller-instanceid`` with that id, and the session's
    controller only Workflows without the label.
    """

    def __init__(
        self,
        cluster: ControlPlane,
        workdir: Path,
        *,
        config: Mapping[str, Any] | None = None,
        configmap: str = CONFIGMAP,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.cluster, self.workdir = cluster, workdir
        self.configmap, self.env = configmap, dict(env or {})
        # Its /healthz port (6060) is hard-coded: several controllers on one machine (other
        # sessions) would share it. Readiness is read from its metrics, on a port of its own.
        self.metrics_port = free_port()
        self.config = {"metricsConfig": {"enabled": True, "port": self.metrics_port, "secure": False}, **(config or {})}
        self.log_path = workdir / "workflow-controller.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ArgoController:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        kube = self.cluster.kube()
        kube.namespace(NAMESPACE)
        self._write_config(kube, create=True)
        args = [
            str(tool("workflow-controller")),
            "--kubeconfig", str(self.cluster.kubeconfig),
            "--namespace", NAMESPACE,
            "--configmap", self.configmap,
            "--loglevel", "info",
            "--log-format", "text",
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                args,
                env={**os.environ, **CONTROLLER_ENV, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self._healthy, timeout=60, what=f"Argo's workflow-controller (log: {self.log_path})")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=15)
        self._proc = None

    def set_config(self, **values: Any) -> None:
        """Change the controller's ConfigMap; it applies the change while running."""
        self.config.update(values)
        self._write_config(self.cluster.kube(), create=False)

    def _write_config(self, kube: Kube, *, create: bool) -> None:
        data = {key: value if isinstance(value, str) else yaml.safe_dump(value) for key, value in self.config.items()}
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": self.configmap, "namespace": NAMESPACE}}
        if create:
            try:
                kube.create({**body, "data": data})
                return
            except ApiException as exc:
                if exc.status != 409:
                    raise
        kube.patch(
            "v1", "ConfigMap", self.configmap, [{"op": "replace", "path": "/data", "value": data}], namespace=NAMESPACE
        )

    def _healthy(self) -> bool:
        assert self._proc is not None and self._proc.poll() is None, f"workflow-controller exited:\n{self.log()}"
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2) as answer:
            return bool(answer.status == 200)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-20_000:] if self.log_path.exists() else ""
