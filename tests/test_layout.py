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
        if line.strip() and not line.startswith("#"):
            if line.startswith(" "):
                continue  # a hash continuation line
            name, version = line.split(";")[0].split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip(" \\")
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
    assert hashed.read_text().count("--hash=sha256:") >= len(_pins(hashed))


def test_the_agent_lock_is_hashed_and_agrees_with_the_repository_lock() -> None:
    """agent/requirements.lock installs with --require-hashes, at the versions the tests ran."""
    lock = (ROOT / "agent" / "requirements.lock").read_text().splitlines()
    entries = [line for line in lock if line and not line.startswith((" ", "#"))]
    assert entries and all(line.endswith("\\") for line in entries), "every pin is followed by its hashes"
    # Pins marked for another platform (emscripten) are never installed on Linux.
    linux = [line.split(";")[0].strip(" \\") for line in entries if "emscripten'" not in line.split(";", 1)[-1]]
    pairs = (line.split("==") for line in linux)
    agent = {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pairs}
    main = _pins(ROOT / "requirements.lock")
    assert {name: main.get(name) for name in agent} == agent
    assert {"httpx", "playwright", "selectolax", "openai"} <= agent.keys()


def test_the_agent_dockerfile_is_pinned_non_root_and_hashed() -> None:
    """The image teams build: the bundled mode's exact base, hashes enforced, uid 65532."""
    from components import config

    text = (ROOT / "agent" / "Dockerfile").read_text()
    assert f"FROM {config.PYTHON_IMAGE}\n" in text
    assert "--require-hashes -r agent/requirements.lock" in text and "--no-index" in text
    assert "USER 65532:65532" in text and 'ENTRYPOINT ["agent"]' in text


def test_ci_installs_chromium() -> None:
    """The screenshot tests need it; CI must install it, never skip."""
    assert "apt-get install -y -qq chromium" in (ROOT / ".ci" / "run").read_text()
