"""`opa check --strict`, `opa fmt` and `opa test` over policies/, with the real OPA binary.

OPA is the engine the sidecar runs, so its compiler and test runner are the judges: a
policy that does not compile strictly, or a `test_` rule that fails, errs or is not run,
fails here with OPA's own output.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components import config
from components.bundle import POLICY_DIR
from testkit.tools import ROOT, tool

TEST_FILES = sorted(POLICY_DIR.glob("*_test.rego"))
_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_TEST_RULE = re.compile(r"^(test_\w+)\s+if\b", re.MULTILINE)


def opa(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("opa"), *map(str, args)], capture_output=True, text=True, timeout=120)


def written_tests(path: Path) -> set[str]:
    """``data.<package>.<rule>`` of every ``test_`` rule written in a test file."""
    text = path.read_text()
    package = _PACKAGE.search(text)
    assert package, f"{path.name} has no package"
    return {f"data.{package.group(1)}.{rule}" for rule in _TEST_RULE.findall(text)}


def test_the_policies_compile_strictly() -> None:
    """Strict mode also refuses unused variables, imports and arguments, shadowed names,
    and deprecated built-ins."""
    result = opa("check", "--strict", POLICY_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_policies_are_formatted() -> None:
    """As `opa fmt` writes them (`opa fmt -w policies/` fixes it)."""
    result = opa("fmt", "--list", "--fail", POLICY_DIR)
    assert result.returncode == 0 and not result.stdout, result.stdout + result.stderr


def test_a_rule_shadowing_what_opa_rewrites_is_caught(tmp_path: Path) -> None:
    """The defect regopy let through: a rule named `internal` hides the
    `internal.member_2` that OPA rewrites `x in y` into, and nothing compiles."""
    broken = shutil.copytree(POLICY_DIR, tmp_path / "policies")
    admission = broken / "admission.rego"
    admission.write_text(admission.read_text().replace("cluster_internal(", "internal("))
    result = opa("check", "--strict", broken)
    assert result.returncode != 0
    assert "undefined function data.agentic.admission.internal.member_2" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def report() -> list[dict[str, Any]]:
    """`opa test` over policies/: one result per test rule."""
    result = opa("test", "--format=json", POLICY_DIR)
    assert result.returncode in (0, 2), result.stdout + result.stderr  # 2: some test failed
    results: list[dict[str, Any]] = json.loads(result.stdout)
    return results


def test_every_rego_test_passes(report: list[dict[str, Any]]) -> None:
    failed = [
        f"{r['package']}.{r['name']}: {r.get('error') or 'failed'}" for r in report if r.get("fail") or r.get("error")
    ]
    assert not failed, "\n".join(failed)


def test_opa_runs_every_test_rule_written(report: list[dict[str, Any]]) -> None:
    """A rule `opa test` does not see (a typo in the name, a package it cannot load)
    would pass silently."""
    written = set().union(*map(written_tests, TEST_FILES))
    assert {f"{r['package']}.{r['name']}" for r in report} == written


def test_the_sidecar_image_is_the_opa_tested() -> None:
    """The image the Deployment pins, the version hack/tools.sh builds and the binary the
    tests run are one OPA release."""
    pin = re.search(r'"opa\|v([0-9.]+)\|', (ROOT / "hack" / "tools.sh").read_text())
    assert pin, "no opa pin in hack/tools.sh"
    built = re.search(r"^Version: (\S+)$", opa("version").stdout, re.MULTILINE)
    assert built and built.group(1) == pin.group(1), f"opa {built and built.group(1)} is not the pin: run `make tools`"
    assert f"openpolicyagent/opa:{pin.group(1)}-static" == config.OPA_IMAGE


def test_every_policy_has_a_test_file() -> None:
    """admission, gate and lib each come with their unit tests, and each file has tests."""
    policies = {p.stem for p in POLICY_DIR.glob("*.rego") if not p.stem.endswith("_test")}
    assert policies == {p.stem.removesuffix("_test") for p in TEST_FILES}
    assert all(written_tests(path) for path in TEST_FILES)
