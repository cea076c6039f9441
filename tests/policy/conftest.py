"""Policies built once per session: the repository's, and copies with config overrides."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from agentic_operator.policy import EmbeddedPolicy
from tests.policy.cases import POLICY_DIR, configured_copy

PolicyFor = Callable[[Mapping[str, Any]], EmbeddedPolicy]


@pytest.fixture(scope="session")
def embedded() -> EmbeddedPolicy:
    return EmbeddedPolicy(POLICY_DIR)


@pytest.fixture(scope="session")
def policy_for(embedded: EmbeddedPolicy, tmp_path_factory: pytest.TempPathFactory) -> PolicyFor:
    """The embedded policy whose data.json has ``config`` keys replaced (the repository's if none)."""
    built: dict[str, EmbeddedPolicy] = {}

    def get(config: Mapping[str, Any]) -> EmbeddedPolicy:
        if not config:
            return embedded
        key = json.dumps(config, sort_keys=True)
        if key not in built:
            built[key] = EmbeddedPolicy(configured_copy(tmp_path_factory.mktemp("policies"), config))
        return built[key]

    return get
