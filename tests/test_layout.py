"""Repository rules that are easy to break and expensive to notice."""

from __future__ import annotations

import operator
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split(" \\")[0]  # requirements.hashes: `name==version \` then hash lines
        if line.strip() and not line.startswith(("#", " ")):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return pins


def test_operator_folder_is_not_a_package_shadowing_the_stdlib() -> None:
    """`operator` is the standard library's; our code lives in agentic_operator."""
    assert not (ROOT / "operator" / "__init__.py").exists()
    assert operator.__file__ is not None and operator.__file__.startswith(sys.base_prefix)
    assert (ROOT / "operator" / "agentic_operator" / "__init__.py").exists()


def test_every_dependency_is_pinned_and_the_runtime_lock_agrees() -> None:
    main, runtime = _pins(ROOT / "requirements.lock"), _pins(ROOT / "operator" / "requirements.lock")
    assert runtime, "operator/requirements.lock is empty"
    assert {name: main.get(name) for name in runtime} == runtime


def test_the_image_installs_the_runtime_lock_with_a_hash_for_every_pin() -> None:
    """operator/requirements.hashes is written from the lock (make hashes): same pins."""
    hashed = ROOT / "operator" / "requirements.hashes"
    assert _pins(hashed) == _pins(ROOT / "operator" / "requirements.lock"), "run `make hashes`"
    blocks = hashed.read_text().split("\n\n")[0].count("--hash=sha256:")
    assert blocks >= len(_pins(hashed))
