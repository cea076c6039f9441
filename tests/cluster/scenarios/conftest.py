"""The operator on the real control plane, driving AgentWorkloads through Argo's controller.

One platform for this package: what the Pulumi program renders for the namespaces below,
created for real (tests/cluster/platform.py), and Argo's controller configured as the
chart configures it. Its approval policy is in force while the package runs, and only
then (it binds every namespace): a human decision is an approver's, a ServiceAccount
bound to the rendered ``agentic-approver`` ClusterRole, signed with its username.
``operator`` is one ``python -m agentic_operator`` for the ``SHARED`` namespace, logged
in with a token of the operator's ServiceAccount (the rendered Role is all it may do);
tests that start and stop operators of their own use ``OWN``. The test plays the kubelet
and Argo's executor (tests/cluster/executor.py), with the token Argo mounts, reporting the
outputs the reference agent produced for its demo page (``agent_reports``).
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentic_contract import pipeline
from components import operator as operator_component
from components import template
from testkit.agent import demo
from testkit.agent.chain import workload_arguments
from testkit.agent.peers import Chromium, Site
from testkit.opa import OpaServer
from testkit.operator_process import OperatorProcess
from tests.agent.conftest import require_chromium
from tests.cluster import approvals
from tests.cluster.argo import ArgoController
from tests.cluster.controlplane import ControlPlane
from tests.cluster.executor import Executor
from tests.cluster.platform import Platform
from tests.cluster.scenarios.workloads import Workloads, requests

SYSTEM = "scenarios-system"
SHARED = "scenarios"
OWN = "scenarios-own"
OPERATOR_USER = approvals.service_account_user(SYSTEM, operator_component.NAME)
APPROVER = "approver"  # a ServiceAccount of SYSTEM's, bound as an approver in SHARED and OWN


def executor_user(namespace: str) -> str:
    return approvals.service_account_user(namespace, template.EXECUTOR_SERVICE_ACCOUNT)


def not_granted(cluster: ControlPlane, namespace: str) -> set[tuple[str, str, str, str]]:
    """What RBAC refused the operator or the namespace's executor and never allowed them:
    (user, verb, resource, namespace). A kind of request refused once and allowed at other
    times is granted: right after an API server restart its authorizer refuses everything
    until it has read the Roles, as a real one does."""
    found: set[tuple[str, str, str, str]] = set()
    for user in (OPERATOR_USER, executor_user(namespace)):
        seen = requests(cluster, user)
        allowed = {(r.verb, r.resource, r.namespace) for r in seen if r.decision == "allow"}
        found |= {(user, *kind) for r in seen if (kind := (r.verb, r.resource, r.namespace)) not in allowed}
    return found


@dataclass(frozen=True)
class TokenLogin:
    """A kubeconfig that logs in with a ServiceAccount's token (testkit's ``Login``)."""

    cluster: ControlPlane
    token: str

    def kubeconfig(self, path: Path, *, namespace: str) -> Path:
        return self.cluster.kubeconfig_for(path, token=self.token, namespace=namespace)


@pytest.fixture(scope="package")
def platform(cluster: ControlPlane, argo: ArgoController) -> Iterator[Platform]:
    rendered = Platform.render(SYSTEM, [SHARED, OWN])
    rendered.install(cluster)
    before = copy.deepcopy(argo.config)
    argo.set_config(**rendered.controller_config())
    try:
        with approvals.enforced(cluster.kube(), rendered.approval_policy(), SHARED):
            yield rendered
    finally:
        argo.config = before
        argo.set_config()


@pytest.fixture(scope="package")
def approver(cluster: ControlPlane, platform: Platform) -> approvals.Identity:
    role = ("ClusterRole", platform.approver_role)
    return approvals.bound(cluster, SYSTEM, APPROVER, role, platform.workload_namespaces)


@pytest.fixture(scope="session")
def policy_url(opa: OpaServer) -> str:
    """The real OPA (``opa run --server``), loaded as the operator's sidecar loads policies/."""
    return opa.url


@pytest.fixture(scope="package")
def login(cluster: ControlPlane, platform: Platform) -> TokenLogin:
    return TokenLogin(cluster, platform.operator_token(cluster))


def operator_process(
    platform: Platform,
    login: TokenLogin,
    workdir: Path,
    policy_url: str,
    namespace: str,
    *,
    python: tuple[str, ...] = (sys.executable,),
    env: Mapping[str, str] | None = None,
) -> OperatorProcess:
    """The operator as the Deployment configures it (its AGENTIC_* environment), here;
    ``python`` and ``env`` run it as bundled mode does."""
    workdir.mkdir(parents=True, exist_ok=True)
    deployment = {k: v for k, v in platform.operator_environment().items() if k.startswith("AGENTIC_")}
    deployment["AGENTIC_API_TIMEOUT_SECONDS"] = "10"
    return OperatorProcess(
        login, workdir, opa_url=policy_url, namespace=namespace, python=python, env={**deployment, **(env or {})}
    )


@pytest.fixture(scope="package")
def operator(
    platform: Platform, login: TokenLogin, policy_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    with operator_process(platform, login, tmp_path_factory.mktemp("operator"), policy_url, SHARED) as running:
        yield running


@pytest.fixture(scope="package")
def agent_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """What the reference agent reports for its demo page: the steps before the gate run
    for real, as ``make demo`` runs them (the bundled agent, Debian's headless Chromium as
    the browser), so the outputs Argo carries to the gate here are the agent's own."""
    site, browser = Site(), Chromium(require_chromium()).start()
    try:
        arguments = workload_arguments("reports", [site.url("/pricing.html")], "List the plans and prices")
        run = demo.bundled_run(
            tmp_path_factory.mktemp("agent"), arguments, {pipeline.ENV_BROWSERLESS_URL: browser.endpoint}
        )
        results = [run.run(step) for step in demo.BEFORE_GATE]
    finally:
        browser.stop()
        site.close()
    failed = [f"{r.step}: exit {r.code} ({r.reason})" for r in results if r.code]
    assert not failed, failed
    return {r.step: r.parameters for r in results}


@pytest.fixture
def shared(
    cluster: ControlPlane,
    approver: approvals.Identity,
    operator: OperatorProcess,
    agent_reports: dict[str, dict[str, str]],
) -> Iterator[Workloads]:
    """Workloads in the shared operator's namespace. After the test: the operator is alive,
    and RBAC granted it (and the executor) all they asked for, as the audit log says."""
    yield Workloads(cluster, SHARED, Executor(cluster, SHARED), approver, agent_reports)
    assert operator.alive(), f"the operator died:\n{operator.log()[-3000:]}"
    assert not not_granted(cluster, SHARED), "RBAC refused what the platform's Roles should grant"


@pytest.fixture
def own(cluster: ControlPlane, approver: approvals.Identity, agent_reports: dict[str, dict[str, str]]) -> Workloads:
    """Workloads in a namespace no operator watches until the test starts one."""
    return Workloads(cluster, OWN, Executor(cluster, OWN), approver, agent_reports)
