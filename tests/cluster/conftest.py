"""The cluster tier: one real control plane and one Argo controller per test session.

Every test under tests/cluster carries the ``cluster`` marker (``pytest -m cluster`` runs
this tier alone). The control plane starts once (about 10 s) and is torn down at the
end of the session, every process with it; tests keep to namespaces of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agentic_operator import api
from tests.cluster import crds
from tests.cluster.argo import ArgoController, install_crds
from tests.cluster.controlplane import ControlPlane

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    with ControlPlane(tmp_path_factory.mktemp("control-plane")) as running:
        yield running


@pytest.fixture(scope="session")
def argo(cluster: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArgoController]:
    install_crds(cluster)
    with ArgoController(cluster, tmp_path_factory.mktemp("argo")) as controller:
        yield controller


@pytest.fixture(scope="session")
def agentworkload_crd(cluster: ControlPlane) -> str:
    """The AgentWorkload CRD as ``api.crd()`` renders it now, Established; its name."""
    return crds.install(cluster.kube(), api.crd())
