"""The parts no process plays here: the kubelet and Argo's executor (the ``wait`` container).

kwok binds Argo's pods to its node and marks them Running; no container ever runs. For
each step a test finishes, :class:`Executor` does what Argo v4.0.5's executor and a
kubelet would, in their order (``cmd/argoexec/commands/wait.go``,
``workflow/executor/executor.go`` and ``taskresult.go``):

1. ``InitializeOutput``: create the WorkflowTaskResult named by the node id, labelled
   ``workflows.argoproj.io/workflow`` and ``workflows.argoproj.io/report-outputs-completed:
   "false"``, owned by the Workflow;
2. the agent (main container) exits: ``SaveParameters`` reads each output parameter's
   file (here: the values the test gives) and ``SaveArtifacts`` uploads each output
   artifact to the location its template declares; ``ReportOutputs`` merge-patches the
   task result with the template's outputs, parameter values filled in and the saved
   artifacts (a missing parameter file is an error: no value, nothing uploaded);
3. ``FinalizeOutput``: the label becomes ``"true"``;
4. the kubelet reports the pod: ``init``, ``main`` and ``wait`` terminated with their exit
   codes, phase Succeeded (or Failed).

The task results are written with the token Argo mounted into the pod's ``wait``
container (the template mounts none of its own: the executor ServiceAccount's token
Secret, components/workloads.py), read from that Secret as the kubelet would, so the
executor's Role is what allows them. The template the executor works from is the one
Argo's controller put in the pod (``ARGO_TEMPLATE``), so the outputs are exactly what
Argo resolved, bucket and key included.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from agentic_operator import argo_names
from agentic_operator.timestamps import now_text
from tests.cluster.controlplane import ControlPlane, wait_for
from tests.cluster.kube import Kube

TASK_RESULT = "WorkflowTaskResult"
LABEL_WORKFLOW = "workflows.argoproj.io/workflow"
LABEL_COMPLETED = "workflows.argoproj.io/report-outputs-completed"
ANNOTATION_NODE_ID = "workflows.argoproj.io/node-id"
ANNOTATION_NODE_NAME = "workflows.argoproj.io/node-name"
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"  # where client-go looks in a pod


def _env(container: Mapping[str, Any], name: str) -> str | None:
    return next((e.get("value") for e in container.get("env") or [] if e.get("name") == name), None)


class Executor:
    """Argo's executor and the kubelet for the pods of one namespace.

    The admin's client reads and updates pods and reads the Secrets they mount (as the
    kubelet does, through ``pods/status``); WorkflowTaskResults are written with the token
    mounted into the pod's ``wait`` container.
    """

    def __init__(self, cluster: ControlPlane, namespace: str) -> None:
        self.cluster, self.namespace = cluster, namespace
        self.admin = cluster.kube()
        self._logins: dict[str, Kube] = {}

    def pod(self, workflow: str, step: str, *, timeout: float = 60) -> dict[str, Any]:
        """The step's running pod once kwok runs it: node ``<workflow>.<step>``, or its
        latest attempt ``<workflow>.<step>(<n>)`` under a retryStrategy."""
        attempt = re.compile(re.escape(f"{workflow}.{step}") + r"(\((\d+)\))?")

        def running() -> dict[str, Any] | None:
            pods = self.admin.objects(
                "v1", "Pod", namespace=self.namespace, label_selector=f"{LABEL_WORKFLOW}={workflow}"
            )
            for pod in pods:
                name = pod["metadata"]["annotations"].get(ANNOTATION_NODE_NAME, "")
                if attempt.fullmatch(name) and pod["status"].get("phase") == "Running":
                    return pod
            return None

        found = wait_for(running, timeout=timeout, what=f"the pod of {workflow}.{step} to run")
        assert found is not None  # wait_for returns only what is truthy
        return found

    def finish(
        self, workflow: str, step: str, outputs: Mapping[str, str] | None = None, *, exit_code: int = 0
    ) -> dict[str, Any]:
        """Run the step to its end: ``outputs`` are the parameter files the agent wrote
        (None: it wrote none); a non-zero ``exit_code`` fails the agent. The task result."""
        pod = self.pod(workflow, step)
        init = next(c for c in pod["spec"]["initContainers"] if c["name"] == "init")
        template = json.loads(_env(init, "ARGO_TEMPLATE") or "{}")
        node_id = pod["metadata"]["annotations"][ANNOTATION_NODE_ID]
        owner = pod["metadata"]["ownerReferences"][0]  # the Workflow (Argo's controller reference)

        executor = self.login(pod)
        self._initialize(executor, node_id, workflow, owner["uid"])
        reported, complete = self._outputs(template, outputs or {}, saved=outputs is not None and exit_code == 0)
        result = executor.patch(
            argo_names.API_VERSION, TASK_RESULT, node_id, {"outputs": reported}, namespace=self.namespace
        )
        result = executor.patch(
            argo_names.API_VERSION,
            TASK_RESULT,
            node_id,
            {"metadata": {"labels": {LABEL_COMPLETED: "true"}}},
            namespace=self.namespace,
        )
        self._terminate(pod, main_exit=exit_code, wait_exit=0 if complete else 1)
        return result

    def login(self, pod: Mapping[str, Any]) -> Kube:
        """A client with the token the ``wait`` container finds in :data:`TOKEN_DIR`: the
        Secret volume Argo mounted there (a pod that mounts none gives the executor none)."""
        wait = next(c for c in pod["spec"]["containers"] if c["name"] == "wait")
        mount = next((m for m in wait.get("volumeMounts") or [] if m["mountPath"] == TOKEN_DIR), None)
        assert mount is not None, f"no token mounted into {pod['metadata']['name']}'s wait container"
        volume = next(v for v in pod["spec"]["volumes"] if v["name"] == mount["name"])
        assert "secret" in volume, f"the wait container's token is not a Secret's: {volume}"
        secret = volume["secret"]["secretName"]

        def token() -> str | None:  # the token controller fills the Secret once it sees it
            found = self.admin.find("v1", "Secret", secret, namespace=self.namespace)
            data = (found or {}).get("data") or {}
            return base64.b64decode(data["token"]).decode() if "token" in data else None

        value = wait_for(token, timeout=30, what=f"a token in Secret {self.namespace}/{secret}")
        assert value is not None  # wait_for returns only what is truthy
        if value not in self._logins:
            self._logins[value] = self.cluster.kube(token=value)
        return self._logins[value]

    def _initialize(self, executor: Kube, node_id: str, workflow: str, workflow_uid: str) -> None:
        executor.create(
            {
                "apiVersion": argo_names.API_VERSION,
                "kind": TASK_RESULT,
                "metadata": {
                    "name": node_id,
                    "namespace": self.namespace,
                    "labels": {LABEL_WORKFLOW: workflow, LABEL_COMPLETED: "false"},
                    "ownerReferences": [
                        {
                            "apiVersion": argo_names.API_VERSION,
                            "kind": "Workflow",
                            "name": workflow,
                            "uid": workflow_uid,
                        }
                    ],
                },
            }
        )

    @staticmethod
    def _outputs(template: Mapping[str, Any], files: Mapping[str, str], *, saved: bool) -> tuple[dict[str, Any], bool]:
        """``ReportOutputs``: the template's outputs with parameter values (a missing file
        leaves the value unset and is an executor error) and the artifacts saved."""
        outputs = copy.deepcopy(dict(template.get("outputs") or {}))
        complete = True
        for param in outputs.get("parameters") or []:
            path = (param.get("valueFrom") or {}).get("path")
            if not path:
                continue
            if param["name"] in files:
                param["value"] = files[param["name"]].removesuffix("\n")  # Argo trims one newline
            else:
                complete = False
        if not (saved and complete):
            outputs.pop("artifacts", None)  # nothing uploaded (an empty list is omitted)
        return outputs, complete and saved

    def _terminate(self, pod: Mapping[str, Any], *, main_exit: int, wait_exit: int) -> None:
        """The kubelet's report of a pod whose containers have all exited."""
        started = pod["status"].get("startTime") or now_text()
        finished = now_text()

        def terminated(name: str, code: int) -> dict[str, Any]:
            state = {
                "exitCode": code,
                "reason": "Completed" if code == 0 else "Error",
                "startedAt": started,
                "finishedAt": finished,
            }
            return {"name": name, "ready": False, "restartCount": 0, "state": {"terminated": state}}

        phase = "Succeeded" if main_exit == 0 and wait_exit == 0 else "Failed"
        ready = {"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": finished}
        self.admin.patch(
            "v1",
            "Pod",
            pod["metadata"]["name"],
            {
                "status": {
                    "phase": phase,
                    "conditions": [ready],
                    "initContainerStatuses": [
                        terminated(c["name"], 0) for c in pod["spec"].get("initContainers") or []
                    ],
                    "containerStatuses": [
                        terminated(c["name"], main_exit if c["name"] == "main" else wait_exit)
                        for c in pod["spec"]["containers"]
                    ],
                }
            },
            namespace=self.namespace,
            subresource="status",
        )
