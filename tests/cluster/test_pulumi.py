"""The real Pulumi engine on the real control plane: up, up again, preview, refresh, destroy.

The dev stack (Pulumi.dev.yaml) of a copy of the project, pointed at the tier's cluster
(``kubernetes.kubeconfig``/``kubernetes.context``) with ``argo.install: external`` (the
chart cannot be fetched here; Argo's own controller runs out of cluster, the ``argo``
fixture). The built CLI, the Kubernetes provider v4.25.0 from its PULUMI_HOME, our Python
language host and dynamic-provider launcher do the work; no plugin is downloaded.

What stands in for what a real cluster has: kwok plays the kubelet (pods become Ready,
Job pods complete; no container runs) and the test plays the storage admin (a
PersistentVolume for MinIO's claim, as a cluster without a provisioner needs).

The tests run in file order on one stack: the lifecycle is the subject.
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import argo as argo_chart
from testkit.tools import tool
from tests.cluster.argo import ArgoController
from tests.cluster.controlplane import ControlPlane, wait_for
from tests.cluster.kube import Kube
from tests.cluster.pulumi import Project
from tests.infra.conftest import dev_config, run_main
from tests.infra.harness import Harness, Run

PLATFORM, WORKLOADS = "agentic-system", ("team-a", "team-b")
CRD = "agentworkloads.agentic.dev"
CONTEXT = "kwok-agentic"  # kwokctl's context for the cluster named "agentic"
# How a state file marks an encrypted secret (Pulumi's "special signature" for secrets).
SECRET_SIG_KEY, SECRET_SIG = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"


def tier_config(project: Project, cluster: ControlPlane) -> None:
    """The dev stack, aimed at this cluster, with the Argo that is already there."""
    project.config("kubernetes.kubeconfig", str(cluster.kubeconfig))
    project.config("kubernetes.context", CONTEXT)
    project.config("argo.install", "external")


def storage_for_minio(kube: Kube, size: str = "5Gi") -> None:
    """What a storage admin provides on a cluster without a provisioner: one volume."""
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": "tier-minio-data"},
            "spec": {
                "capacity": {"storage": size},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "hostPath": {"path": "/tmp/tier-minio-data"},
            },
        }
    )


@pytest.fixture(scope="module")
def project(cluster: ControlPlane, argo: ArgoController, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    assert yaml.safe_load(cluster.kubeconfig.read_text())["current-context"] == CONTEXT
    project = Project(tmp_path_factory.mktemp("pulumi"))
    project.init()
    tier_config(project, cluster)
    storage_for_minio(cluster.kube())
    # The Argo that is "already installed" runs its executor as README asks of one
    # (workload namespaces enforce restricted Pod Security).
    before = copy.deepcopy(argo.config)
    argo.set_config(executor=argo_chart.executor())
    yield project
    argo.config = before
    argo.set_config()
    # The stack's admission policy binds every namespace: never leave it for the session's
    # other modules, whatever failed above (destroy is a test of its own).
    if project.resources():
        project.run("destroy", "--yes", check=False)


@pytest.fixture(scope="module")
def first_up(project: Project) -> subprocess.CompletedProcess[str]:
    return project.run("up", "--yes", "--skip-preview")


def declared(change: dict[str, Any] | None = None) -> Run:
    """What the program declares for the tier's stack (``change`` over it), under mocks."""
    return run_main(Harness({**dev_config(), "argo.install": "external", **(change or {})}))


def secret_data(kube: Kube, name: str, namespace: str) -> dict[str, str]:
    data = kube.get("v1", "Secret", name, namespace=namespace)["data"]
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


# --------------------------------------------------------------------------------------


def test_up_creates_and_awaits_every_resource(cluster: ControlPlane, project: Project, first_up: Any) -> None:
    """Exit 0, and what the provider waited for is true in the cluster."""
    kube = cluster.kube()
    assert "error" not in first_up.stdout.lower().split("outputs:")[0], first_up.stdout
    # Every Kubernetes resource the program declares (as the mock harness records it for the
    # same config) is in the state, with the outputs the provider read back when it was ready.
    expected = sorted((r.type, r.name) for r in declared().resources if r.type.startswith("kubernetes:"))
    created = [r for r in project.resources() if r["type"].startswith("kubernetes:")]
    assert sorted((r["type"], r["urn"].split("::")[-1]) for r in created) == expected
    assert all(r.get("outputs", {}).get("metadata", {}).get("uid") for r in created)
    crd = kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", CRD)
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]}["Established"] == "True"
    deployment = kube.get("apps/v1", "Deployment", "agentic-operator", namespace=PLATFORM)
    assert deployment["status"]["availableReplicas"] == 1
    statefulset = kube.get("apps/v1", "StatefulSet", "minio", namespace=PLATFORM)
    assert statefulset["status"]["readyReplicas"] == 1
    job = kube.get("batch/v1", "Job", "minio-bucket", namespace=PLATFORM)
    assert job["status"]["succeeded"] == 1  # kwok completed its pod; the provider waited for it
    claim = kube.get("v1", "PersistentVolumeClaim", "data-minio-0", namespace=PLATFORM)
    assert claim["status"]["phase"] == "Bound"
    users = secret_data(kube, "minio-tenants", PLATFORM)
    for namespace in WORKLOADS:
        template = kube.get("argoproj.io/v1alpha1", "WorkflowTemplate", "visual-analysis-template", namespace=namespace)
        assert template["spec"]["entrypoint"]
        # The external Argo's repository here: the namespace's own MinIO user, its own prefix.
        repositories = kube.get("v1", "ConfigMap", "artifact-repositories", namespace=namespace)
        key = repositories["metadata"]["annotations"]["workflows.argoproj.io/default-artifact-repository"]
        s3 = yaml.safe_load(repositories["data"][key])["s3"]
        assert s3["keyFormat"].startswith(f"{namespace}/")
        credentials = secret_data(kube, s3["accessKeySecret"]["name"], namespace)
        assert credentials[s3["accessKeySecret"]["key"]] == users[f"{namespace}.accessKey"]
        assert credentials[s3["secretKeySecret"]["key"]] == users[f"{namespace}.secretKey"]
        policies = kube.objects("networking.k8s.io/v1", "NetworkPolicy", namespace=namespace)
        assert [p["metadata"]["name"] for p in policies] == ["agentic-workflows"]
    assert len({users[f"{ns}.secretKey"] for ns in WORKLOADS}) == len(WORKLOADS)
    # The API server's endpoints, read through the stack's provider, in the workflow pods' egress.
    endpoints = kube.get("discovery.k8s.io/v1", "EndpointSlice", "kubernetes", namespace="default")
    egress = kube.get("networking.k8s.io/v1", "NetworkPolicy", "agentic-workflows", namespace=WORKLOADS[0])
    blocks = {b["ipBlock"]["cidr"] for rule in egress["spec"]["egress"] for b in rule.get("to", []) if "ipBlock" in b}
    assert {str(ipaddress.ip_network(a)) for e in endpoints["endpoints"] for a in e["addresses"]} <= blocks
    for kind, name in [
        ("ValidatingAdmissionPolicy", "agentic-approvals"),
        ("ValidatingAdmissionPolicyBinding", "agentic-approvals"),
    ]:
        assert kube.find("admissionregistration.k8s.io/v1", kind, name) is not None, kind
    outputs = project.outputs()
    assert outputs["kubeContext"] == CONTEXT and outputs["argoInstall"] == "external"


def test_generated_credentials_are_secret_in_the_state(cluster: ControlPlane, project: Project, first_up: Any) -> None:
    """The dynamic provider made them; the state holds them encrypted, the CLI never shows them."""
    credentials = secret_data(cluster.kube(), "minio-credentials", PLATFORM)
    assert len(credentials["rootPassword"]) == 40 and credentials["rootPassword"].isalnum()
    exported = json.dumps(project.export())
    for value in credentials.values():
        assert value not in exported
        assert value not in first_up.stdout
    generated = [r for r in project.resources() if r["type"] == "pulumi-python:dynamic/agentic:GeneratedSecret"]
    assert len(generated) == 2 + 2 * len(WORKLOADS)  # MinIO's root user; a user per workload namespace
    assert all(
        r["outputs"]["value"].get(SECRET_SIG_KEY) == SECRET_SIG and "ciphertext" in r["outputs"]["value"]
        for r in generated
    )


def test_a_second_up_changes_nothing_and_keeps_the_credentials(
    cluster: ControlPlane, project: Project, first_up: Any
) -> None:
    kube = cluster.kube()
    before = [secret_data(kube, name, PLATFORM) for name in ("minio-credentials", "minio-tenants")]
    project.run("up", "--yes", "--expect-no-changes")
    assert [secret_data(kube, name, PLATFORM) for name in ("minio-credentials", "minio-tenants")] == before


def test_refresh_finds_no_drift(project: Project, first_up: Any) -> None:
    project.run("refresh", "--yes", "--expect-no-changes")
    project.run("preview", "--expect-no-changes")


def test_preview_diff_after_a_config_change_shows_exactly_what_changes(project: Project, first_up: Any) -> None:
    """Another workload namespace: the engine plans exactly what the program's declarations
    say changes (the mock harness, run on both configs): the new namespace's resources, its
    MinIO user's keys and the operator's Role there created; the operator's Deployment (one
    more namespace to watch) and the NetworkPolicy that lets the new namespace reach MinIO
    updated; MinIO's users Secret and policies ConfigMap (the provider replaces changed
    data) and the bucket Job (a Job's pod template cannot change) replaced, so the Job runs
    again and adds the new user; the API server's EndpointSlice read again. Nothing else."""
    expected = _declared_changes({"workloadNamespaces": [*WORKLOADS, "team-c"]})
    assert expected[("kubernetes:apps/v1:Deployment", "agentic-operator-deployment")] == "update"
    assert expected[("kubernetes:core/v1:Namespace", "agentic-workloads-team-c-namespace")] == "create"
    assert (
        expected[("kubernetes:networking.k8s.io/v1:NetworkPolicy", "agentic-network-agentic-system-minio")] == "update"
    )
    assert {k for k, op in expected.items() if op == "replace"} == {
        ("kubernetes:batch/v1:Job", "agentic-minio-bucket"),
        ("kubernetes:core/v1:Secret", "agentic-minio-tenants"),
        ("kubernetes:core/v1:ConfigMap", "agentic-minio-tenant-policies"),
    }
    project.config("workloadNamespaces[2]", "team-c", path=True)
    try:
        ops: dict[tuple[str, str], set[str]] = {}
        for step in project.steps("--diff"):
            if step["op"] != "same":
                ops.setdefault(_type_and_name(step["urn"]), set()).add(step["op"])
        # A replacement is several steps of one resource (replace, create-replacement, delete-replaced).
        assert {k: "replace" if "replace" in v else "/".join(sorted(v)) for k, v in ops.items()} == expected
        text = project.run("preview", "--diff").stdout
        assert '"team-a,team-b" => "team-a,team-b,team-c"' in text  # AGENTIC_NAMESPACES
        count = Counter(expected.values())
        assert f"+ {count['create']} to create" in text and f"~ {count['update']} to update" in text, text
        assert f"+-{count['replace']} to replace" in text, text
    finally:
        project.run("config", "rm", "--path", "workloadNamespaces[2]")
    project.run("preview", "--expect-no-changes")


def _type_and_name(urn: str) -> tuple[str, str]:
    *_, types, name = urn.split("::")
    return types.split("$")[-1], name


# What the Kubernetes provider replaces rather than updates when it changes (its forceNew
# fields, pkg/provider/diff.go in pulumi-kubernetes v4.25.0): a Job's pod template, and a
# Secret's or ConfigMap's data (immutable unless the provider's enable*Mutable is set).
IMMUTABLE: dict[str, Callable[[dict[str, Any]], Any]] = {
    "kubernetes:batch/v1:Job": lambda job: job["spec"]["template"],
    "kubernetes:core/v1:Secret": lambda secret: [secret.get(k) for k in ("type", "stringData", "data")],
    "kubernetes:core/v1:ConfigMap": lambda config_map: [config_map.get(k) for k in ("data", "binaryData")],
}


def _declared_changes(change: dict[str, Any]) -> dict[tuple[str, str], str]:
    """The step the engine should plan for each resource, as (type, name): ``op``, between
    the tier's config and one with ``change``, from what the program declares under mocks.
    A read is read again on every preview."""
    before = {(r.type, r.name): r for r in declared().resources}
    after = {(r.type, r.name): r for r in declared(change).resources}
    created = after.keys() - before.keys()
    changed = {k for k in after.keys() & before.keys() if after[k].custom and after[k].manifest != before[k].manifest}
    replaced = {
        k
        for k in changed
        if k[0] in IMMUTABLE and IMMUTABLE[k[0]](after[k].manifest) != IMMUTABLE[k[0]](before[k].manifest)
    }
    reads = {k for k, r in after.items() if r.read}
    return {
        **dict.fromkeys(created - reads, "create"),
        **dict.fromkeys(changed - replaced - reads, "update"),
        **dict.fromkeys(replaced, "replace"),
        **dict.fromkeys(reads, "read"),
    }


def test_bad_stack_config_fails_before_any_resource_is_touched(project: Project, first_up: Any) -> None:
    state = project.resources()
    project.config("minio.storageSize", "lots")
    project.config("argo.install", "kustomize")
    try:
        for command in (("preview",), ("up", "--yes")):
            done = project.run(*command, check=False)
            assert done.returncode != 0
            out = done.stdout + done.stderr
            assert "agentic-platform:minio.storageSize: 'lots' is not a size" in out, out
            assert "agentic-platform:argo.install: 'kustomize' is not one of helm, external" in out
            assert "Traceback" not in out  # the error, not the program's stack
        assert project.resources() == state
    finally:
        project.config("minio.storageSize", "5Gi")
        project.config("argo.install", "external")
    project.run("preview", "--expect-no-changes")


def test_the_policy_pack_passes_on_the_dev_stack(project: Project, first_up: Any) -> None:
    done = project.run("preview", "--policy-pack", str(project.dir / "crossguard"))
    assert "agentic-platform" in done.stdout  # the pack ran (its name is in the report)


def test_the_policy_pack_fails_on_a_deliberately_bad_config(
    cluster: ControlPlane, argo: ArgoController, first_up: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A change that slips past the program's own checks: an unpinned image as a default
    (the stack config checks the values a stack sets, not the code's defaults). The pack
    stops the preview, naming the rule and the resource."""
    bad = Project(tmp_path_factory.mktemp("bad-pulumi"))
    config_py = bad.dir / "components" / "config.py"
    pinned = 'MINIO_IMAGE = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"'
    assert pinned in config_py.read_text()
    config_py.write_text(config_py.read_text().replace(pinned, 'MINIO_IMAGE = "quay.io/minio/minio:latest"'))
    bad.init()
    tier_config(bad, cluster)
    done = bad.run("preview", "--policy-pack", "crossguard", check=False)
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "pinned-images" in out and "mandatory" in out, out
    assert "agentic-minio-statefulset: spec.template.spec: container 'minio'" in out
    assert "'quay.io/minio/minio:latest' is not pinned" in out
    assert bad.resources() == []  # a preview: nothing created


def test_an_agentworkload_runs_on_what_pulumi_installed(
    cluster: ControlPlane, argo: ArgoController, project: Project, first_up: Any, tmp_path: Path
) -> None:
    """Smoke: the operator, as the Deployment configures it, on its ServiceAccount's token,
    with OPA loading the policies ConfigMap, turns an AgentWorkload into an Argo Workflow
    from the installed template, which Argo's controller runs; deleting the workload
    deletes the Workflow (the real garbage collector)."""
    kube = cluster.kube()
    with OperatorProcess(cluster, kube, tmp_path):
        kube.create(
            {
                "apiVersion": "agentic.dev/v1alpha1",
                "kind": "AgentWorkload",
                "metadata": {"name": "smoke", "namespace": "team-a"},
                "spec": {"targetUrls": ["https://example.com/pricing"], "objective": "List the plans"},
            }
        )

        def running() -> dict[str, Any] | None:
            status = kube.get("agentic.dev/v1alpha1", "AgentWorkload", "smoke", namespace="team-a").get("status") or {}
            return status if status.get("phase") == "Running" and status.get("argoWorkflow") else None

        status = wait_for(running, timeout=90, what=f"the AgentWorkload to run (log: {tmp_path})")
        assert status is not None
        name = status["argoWorkflow"]["name"]
        workflow = kube.get("argoproj.io/v1alpha1", "Workflow", name, namespace="team-a")
        assert workflow["spec"]["workflowTemplateRef"] == {"name": "visual-analysis-template"}
        wait_for(
            lambda: (
                kube.get("argoproj.io/v1alpha1", "Workflow", name, namespace="team-a").get("status", {}).get("phase")
                == "Running"
            ),
            timeout=60,
            what=f"Argo to run the Workflow (log: {argo.log_path})",
        )
        kube.delete("agentic.dev/v1alpha1", "AgentWorkload", "smoke", namespace="team-a")
        wait_for(
            lambda: kube.find("argoproj.io/v1alpha1", "Workflow", name, namespace="team-a") is None,
            timeout=60,
            what="the garbage collector to delete the Workflow",
        )


def test_the_preview_workflow_runs_for_real(
    cluster: ControlPlane, project: Project, first_up: Any, tmp_path: Path
) -> None:
    """preview.yml's steps in order, on this cluster: ``run`` steps in bash as written, the
    pulumi/actions preview as the CLI command it runs; checkout and setup-python are what
    the project copy and this virtualenv already are."""
    secrets = {
        "secrets.PULUMI_BACKEND_URL": project.env["PULUMI_BACKEND_URL"],
        "secrets.PULUMI_CONFIG_PASSPHRASE": project.env["PULUMI_CONFIG_PASSPHRASE"],
        "secrets.DEV_KUBECONFIG": cluster.kubeconfig.read_text(),
        "vars.DEV_KUBE_CONTEXT": CONTEXT,
        "secrets.GITHUB_TOKEN": "unused-outside-github",
    }
    document = yaml.safe_load((project.dir / ".github" / "workflows" / "preview.yml").read_text())
    job = document["jobs"]["preview"]
    env = {
        **project.env,
        **{k: _expand(v, secrets) for k, v in document.get("env", {}).items()},
        "RUNNER_TEMP": str(tmp_path),
    }
    assert subprocess.run(["make", "-q", "venv"], cwd=project.dir, env=env, check=False).returncode == 0, (
        "the virtualenv is not up to date: run `make venv` first (the step must not rebuild it)"
    )
    ran = []
    for step in job["steps"]:
        uses, inputs = step.get("uses", ""), {k: _expand(v, secrets) for k, v in step.get("with", {}).items()}
        if uses.startswith(("actions/checkout@", "actions/setup-python@")):
            continue
        if uses.startswith("pulumi/actions@") and "command" not in inputs:  # installs the CLI only
            assert inputs == {"pulumi-version": "3.274.1"}  # the one hack/tools.sh builds
            continue
        if uses.startswith("pulumi/actions@"):
            done = project.run(*_action_command(inputs, project))
            assert "Previewing update (dev)" in done.stdout and "Resources:" in done.stdout, done.stdout
            assert "agentic-platform" in done.stdout  # the policy pack ran
        else:
            assert "run" in step, f"unknown step {step}"
            step_env = {**env, **{k: _expand(v, secrets) for k, v in step.get("env", {}).items()}}
            subprocess.run(["bash", "-e", "-c", step["run"]], cwd=project.dir, env=step_env, check=True, timeout=600)
        ran.append(step.get("name", uses))
    assert ran == ["Install the program's dependencies", "Point the dev stack at its cluster", "Preview"]


def _expand(value: Any, known: dict[str, str]) -> Any:
    """A workflow value with its ``${{ secrets.X }}``/``${{ vars.X }}`` filled in."""
    if not isinstance(value, str):
        return value
    for match in re.findall(r"\$\{\{\s*([\w.]+)\s*\}\}", value):
        assert match in known, f"the tier does not know {match}"
        value = re.sub(r"\$\{\{\s*" + re.escape(match) + r"\s*\}\}", known[match], value)
    return value


def _action_command(inputs: dict[str, Any], project: Project) -> list[str]:
    """What pulumi/actions runs for these inputs (https://github.com/pulumi/actions)."""
    args = [inputs.pop("command")]
    assert inputs.pop("stack-name") == project.stack
    assert inputs.pop("cloud-url") == project.env["PULUMI_BACKEND_URL"]  # it logs in there
    if inputs.pop("diff", False):
        args.append("--diff")
    if pack := inputs.pop("policyPacks", None):
        args += ["--policy-pack", pack]
    inputs.pop("comment-on-pr", None), inputs.pop("github-token", None)  # GitHub's side only
    assert inputs == {}, f"inputs the tier does not translate: {inputs}"
    return args


def test_destroy_leaves_only_what_is_retained_and_says_so(
    cluster: ControlPlane, project: Project, first_up: Any
) -> None:
    done = project.run("destroy", "--yes")
    kube = cluster.kube()

    def gone(namespace: str) -> bool:
        return kube.find("v1", "Namespace", namespace) is None

    for namespace in WORKLOADS:
        wait_for(lambda: gone(namespace), timeout=120, what=f"namespace {namespace} to be deleted")  # noqa: B023
    # Every object the program declares is gone but those it retains (retainOnDelete): the
    # CRD and the platform namespace; cluster-wide ones (the admission policy, its binding,
    # the approver ClusterRole) and those in the kept namespace (NetworkPolicies, MinIO's
    # Secrets) included.
    for resource in declared().resources:
        if resource.custom and not resource.read and resource.type.startswith("kubernetes:"):
            manifest = resource.manifest
            meta = manifest["metadata"]
            found = kube.find(manifest["apiVersion"], manifest["kind"], meta["name"], namespace=meta.get("namespace"))
            assert (found is not None) == resource.retain, f"{manifest['kind']}/{meta['name']}: {found is not None}"
    # Retained: the CRD (every AgentWorkload), and MinIO's data: its namespace and claim.
    assert kube.find("apiextensions.k8s.io/v1", "CustomResourceDefinition", CRD) is not None
    assert kube.find("v1", "Namespace", PLATFORM) is not None
    assert kube.find("v1", "PersistentVolumeClaim", "data-minio-0", namespace=PLATFORM) is not None
    assert project.resources() == []
    # The CLI says which it kept: `deleted (…)[retain]` for the CRD and the namespace.
    kept = {line.split()[2] for line in done.stdout.splitlines() if "deleted" in line and "[retain]" in line}
    assert kept >= {"agentic-crd-definition", "agentic-namespace"}, done.stdout
    assert {k for k in kept if not k.startswith("agentic-crd")} == {"agentic-namespace"}


# --------------------------------------------------------------------------------------


class OperatorProcess:
    """OPA and the operator as the Deployment runs them, out of cluster."""

    def __init__(self, cluster: ControlPlane, kube: Kube, workdir: Path) -> None:
        self.cluster, self.kube, self.workdir = cluster, kube, workdir
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> OperatorProcess:
        deployment = self.kube.get("apps/v1", "Deployment", "agentic-operator", namespace=PLATFORM)
        pod = deployment["spec"]["template"]["spec"]
        operator = next(c for c in pod["containers"] if c["name"] == "operator")
        policies = self.workdir / "policies"
        policies.mkdir()
        for key, text in self.kube.get("v1", "ConfigMap", "agentic-operator-policies", namespace=PLATFORM)[
            "data"
        ].items():
            (policies / key).write_text(text)
        opa_port, http_port = _free_port(), _free_port()
        self._start(
            "opa",
            [str(tool("opa")), "run", "--server", f"--addr=127.0.0.1:{opa_port}", "--ignore=.*", str(policies)],
            {},
        )
        token = self.cluster.token(PLATFORM, pod["serviceAccountName"])
        env = {e["name"]: e["value"] for e in operator["env"] if "value" in e and e["name"].startswith("AGENTIC_")}
        env |= {
            "AGENTIC_OPA_URL": f"http://127.0.0.1:{opa_port}",
            "AGENTIC_HTTP_PORT": str(http_port),
            "AGENTIC_LOG_FORMAT": "text",
            "KUBECONFIG": str(self.cluster.kubeconfig_for(self.workdir / "operator.kubeconfig", token=token)),
        }
        assert env["AGENTIC_NAMESPACES"] == ",".join(WORKLOADS)
        self._start("operator", [sys.executable, "-m", "agentic_operator"], env)
        return self

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        with (self.workdir / f"{name}.log").open("ab") as log:
            self.procs.append(
                subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
            )

    def __exit__(self, *_: object) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
