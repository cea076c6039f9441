"""The ``cluster`` fixture: a fresh emulated API server per test, stopped afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.apiserver.cluster import Cluster


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with Cluster() as running:
        yield running
