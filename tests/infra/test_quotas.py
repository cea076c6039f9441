"""ResourceQuota and LimitRange per workload namespace, from the quota.* and limits.* keys.

Issue 11: workload namespaces had neither, so one team's workloads could take the
cluster, and a workload's ``spec.resources`` reached its pods unbounded. That the real
API server admits Argo's pods under them (LimitRange defaults filling what Argo's own
containers leave out) is proven in tests/cluster/test_workflow_pods.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from components import quotas
from components.config import ConfigError
from tests.infra.conftest import dev_config, run_main
from tests.infra.harness import Harness, Run
from tests.infra.k8s import WORKFLOW_TEMPLATE

QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"


def in_namespace(run: Run, type_: str, namespace: str) -> dict[str, Any]:
    (found,) = [r.manifest for r in run.of_type(type_) if r.manifest["metadata"]["namespace"] == namespace]
    return found


def test_every_workload_namespace_caps_its_pods_limits_and_count(dev_stack: Run) -> None:
    for ns in ("team-a", "team-b"):
        quota = in_namespace(dev_stack, QUOTA, ns)
        assert quota["spec"]["hard"] == {
            "limits.cpu": "32",
            "limits.memory": "64Gi",
            "limits.ephemeral-storage": "100Gi",
            "pods": "100",
        }


def test_every_container_is_bounded_and_gets_defaults_for_what_it_leaves_out(dev_stack: Run) -> None:
    for ns in ("team-a", "team-b"):
        (limits,) = in_namespace(dev_stack, LIMIT_RANGE, ns)["spec"]["limits"]
        assert limits["type"] == "Container"
        assert limits["max"] == {"cpu": "4", "memory": "8Gi", "ephemeral-storage": "10Gi"}
        assert set(limits["default"]) == set(limits["defaultRequest"]) == set(quotas.RESOURCES)


def test_the_template_waits_for_the_quota_and_the_limits(dev_stack: Run) -> None:
    """So no workflow pod ever starts in a namespace without them."""
    for ns in ("team-a", "team-b"):
        (workflow_template,) = [
            r for r in dev_stack.of_type(WORKFLOW_TEMPLATE) if r.manifest["metadata"]["namespace"] == ns
        ]
        needed = [
            r.urn
            for r in [*dev_stack.of_type(QUOTA), *dev_stack.of_type(LIMIT_RANGE)]
            if r.manifest["metadata"]["namespace"] == ns
        ]
        assert set(needed) <= set(workflow_template.dependencies) and len(needed) == 2


def test_the_stack_config_sets_them() -> None:
    values = {"quota.cpu": "8", "quota.pods": 20, "limits.memory": "2Gi", "quota.ephemeralStorage": "40Gi"}
    run = run_main(Harness({**dev_config(), **values}))
    quota = in_namespace(run, QUOTA, "team-a")["spec"]["hard"]
    assert (quota["limits.cpu"], quota["pods"], quota["limits.ephemeral-storage"]) == ("8", "20", "40Gi")
    (limits,) = in_namespace(run, LIMIT_RANGE, "team-a")["spec"]["limits"]
    assert limits["max"]["memory"] == "2Gi"


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("quota.cpu", "lots", "not a Kubernetes quantity"),
        ("quota.memory", "-1Gi", "more than 0"),
        ("quota.pods", 0, "out of range"),
        ("quota.pods", "many", "is not an integer"),
        ("limits.cpu", "500m", "less than '1', what an agent step"),  # a step's limit is 1 CPU
        ("limits.ephemeralStorage", "1Gi", "less than '3Gi'"),
        ("quota.cpu", "2", "less than agentic-platform:limits.cpu"),
    ],
)
def test_a_quota_no_step_could_run_under_stops_the_program(key: str, value: Any, problem: str) -> None:
    harness = Harness({**dev_config(), key: value})
    with pytest.raises(ConfigError) as error:
        run_main(harness)
    assert re.search(rf"agentic-platform:{re.escape(key)}: .*{re.escape(problem)}", str(error.value)), error.value
    assert harness.registered == []
