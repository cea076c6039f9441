"""Committed manifests match what the code renders (regenerate with `make golden`)."""

from __future__ import annotations

import pytest

from tests.golden import HERE, names, render


@pytest.mark.parametrize("name", names())
def test_golden_manifest_is_current(name: str) -> None:
    path = HERE / name
    assert path.exists(), f"{path} missing: run `make golden`"
    assert path.read_text() == render(name), f"{name} differs from the code: review and run `make golden`"
