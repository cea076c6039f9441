"""The real OPA for every test that needs a policy decision, started once per session."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from testkit.opa import OpaFor, OpaServer


@pytest.fixture(scope="session")
def opa_for(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpaFor]:
    """The OPA server for a stack's ``policy.data`` overrides (``{}``: policies/ as is),
    each started at its first use and stopped at the end of the session."""
    servers: dict[str, OpaServer] = {}

    def get(overrides: Mapping[str, Any]) -> OpaServer:
        key = json.dumps(overrides, sort_keys=True)
        if key not in servers:
            servers[key] = OpaServer(overrides, workdir=tmp_path_factory.mktemp("opa")).start()
        return servers[key]

    try:
        yield get
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="session")
def opa(opa_for: OpaFor) -> OpaServer:
    """OPA serving policies/ with data.json as committed."""
    return opa_for({})
