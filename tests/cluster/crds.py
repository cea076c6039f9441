"""Installing a CustomResourceDefinition the tests own, as it is in the code now."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from kubernetes.client.exceptions import ApiException

from tests.cluster.argo import established
from tests.cluster.controlplane import wait_for
from tests.cluster.kube import Kube

CRD = ("apiextensions.k8s.io/v1", "CustomResourceDefinition")


def install(kube: Kube, crd: Mapping[str, Any]) -> str:
    """Create ``crd`` (or replace the one there: a CRD is cluster-wide, another test module
    may have installed it) and wait until it is Established; its name."""
    name = str(crd["metadata"]["name"])
    try:
        kube.create(crd)
    except ApiException as exc:
        if exc.status != 409:
            raise
        version = kube.get(*CRD, name)["metadata"]["resourceVersion"]
        kube.replace({**crd, "metadata": {**crd["metadata"], "resourceVersion": version}})
    wait_for(partial(established, kube, name), timeout=60, what=f"CRD {name} Established")
    kube.invalidate()
    return name
