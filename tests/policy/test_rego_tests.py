"""Every `test_` rule in policies/*_test.rego holds, evaluated in-process as `opa test` would.

The rules are compiled once into one bundle (rego-cpp compiles the whole policy again
for every ad-hoc query) and each runs as its own pytest case, so a failure names it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from agentic_operator.policy import rego_interpreter
from tests.policy.cases import POLICY_DIR

TEST_FILES = sorted(POLICY_DIR.glob("*_test.rego"))
_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_TEST_RULE = re.compile(r"^(test_\w+)\s+if\b", re.MULTILINE)


def _entrypoints(path: Path) -> list[str]:
    text = path.read_text()
    package = _PACKAGE.search(text)
    assert package, f"{path.name} has no package"
    return [f"{package.group(1).replace('.', '/')}/{rule}" for rule in _TEST_RULE.findall(text)]


RULES = [entry for path in TEST_FILES for entry in _entrypoints(path)]


@pytest.fixture(scope="module")
def bundle() -> tuple[Any, Any]:
    interpreter = rego_interpreter(POLICY_DIR, include_tests=True)
    return interpreter, interpreter.build(None, RULES)


@pytest.mark.parametrize("rule", RULES)
def test_rego_rule_holds(bundle: tuple[Any, Any], rule: str) -> None:
    """The test rule evaluates to true (undefined or false is a failure)."""
    interpreter, compiled = bundle
    output = interpreter.query_bundle_entrypoint(compiled, rule)
    assert output.ok(), str(output)
    assert [e for result in output.results for e in result.expressions] == [True]


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_each_test_file_has_tests(path: Path) -> None:
    """A test file without test rules would pass silently."""
    assert _entrypoints(path)


def test_every_policy_has_a_test_file() -> None:
    """admission, gate and lib each come with their unit tests."""
    policies = {p.stem for p in POLICY_DIR.glob("*.rego") if not p.stem.endswith("_test")}
    assert policies == {p.stem.removesuffix("_test") for p in TEST_FILES}


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_no_test_replaces_the_whole_input(path: Path) -> None:
    """`with input as ...` crashes rego-cpp 1.5.2 (the whole pytest process): replace keys."""
    assert not re.search(r"\bwith\s+input\s+as\b", path.read_text())
