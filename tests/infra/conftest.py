"""Fixtures for the Pulumi tests: the dev stack, run once per session under mocks."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.harness import Harness, Run

ROOT = Path(__file__).resolve().parents[2]


def dev_config() -> dict[str, Any]:
    """Pulumi.dev.yaml's config, keys without the project prefix."""
    config = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    return {key.split(":", 1)[1]: value for key, value in config.items()}


def run_main(harness: Harness) -> Run:
    """Run the real ``__main__.py`` as ``pulumi up`` would."""
    return harness.run(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"))


@pytest.fixture(scope="session")
def dev_stack() -> Run:
    return run_main(Harness(dev_config()))
