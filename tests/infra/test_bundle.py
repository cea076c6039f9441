"""What the operator pod mounts: the bundled source and the policies (pure, no Pulumi)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from components import bundle


def _policies(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    (tmp_path / "gate.rego").write_text("package agentic.gate\n")
    (tmp_path / "gate_test.rego").write_text("package agentic.gate_test\n")
    (tmp_path / "sub" / "admission.rego").write_text("package agentic.admission\n")
    (tmp_path / "README.md").write_text("not a policy\n")
    data = {"agentic": {"config": {"gate": {"threshold": 0.9, "max_failed": 1}, "images": ["a"]}}, "other": 1}
    (tmp_path / "data.json").write_text(json.dumps(data))
    return tmp_path


def test_source_bundle_holds_every_module_and_the_lock_under_flat_keys() -> None:
    source = bundle.operator_source()
    modules = sorted(f"{bundle.PACKAGE}/{p.name}" for p in (bundle.OPERATOR_DIR / bundle.PACKAGE).glob("*.py"))
    contract = sorted(
        f"{bundle.CONTRACT_PACKAGE}/{p.name}" for p in (bundle.CONTRACT_DIR / bundle.CONTRACT_PACKAGE).glob("*.py")
    )
    paths = [item["path"] for item in source.items]
    assert sorted(p for p in paths if p.endswith(".py")) == sorted(modules + contract)
    assert bundle.REQUIREMENTS in paths
    assert all("/" not in key for key in source.data)
    assert {item["key"] for item in source.items} == set(source.data)
    assert source.data["requirements.lock"] == (bundle.OPERATOR_DIR / bundle.REQUIREMENTS).read_text()


def test_any_source_change_changes_the_hash(tmp_path: Path) -> None:
    copy = tmp_path / "operator"
    shutil.copytree(bundle.OPERATOR_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    before = bundle.operator_source(copy).hash
    assert bundle.operator_source(copy).hash == before
    (copy / bundle.PACKAGE / "api.py").write_text("# changed\n")
    assert bundle.operator_source(copy).hash != before


def test_policies_bundle_the_non_test_rego_and_merge_data(tmp_path: Path) -> None:
    """One rule for which .rego files count (bundle.policy_files): a nested file is neither
    shipped to the sidecar nor loaded by the tests' OPA, which serves this same bundle."""
    policies = bundle.policies(_policies(tmp_path), {"gate": {"threshold": 0.8}})
    assert {i["path"] for i in policies.items} == {"gate.rego", "data.json"}
    assert json.loads(policies.data["data.json"]) == {
        "agentic": {"config": {"gate": {"threshold": 0.8, "max_failed": 1}, "images": ["a"]}},
        "other": 1,
    }


def test_missing_policies_give_an_empty_bundle_and_overrides_alone_a_data_file(tmp_path: Path) -> None:
    missing = tmp_path / "none"
    assert bundle.policies(missing).data == {}
    data = json.loads(bundle.policies(missing, {"gate": {"threshold": 0.5}}).data["data.json"])
    assert data == {"agentic": {"config": {"gate": {"threshold": 0.5}}}}


def test_override_errors_name_unknown_keys_and_shape_changes() -> None:
    base = {"gate": {"threshold": 0.9}, "images": ["a"]}
    assert bundle.override_errors(base, {"gate": {"threshold": 0.5}, "images": []}) == []
    assert bundle.override_errors(base, {"gate": {"threshold": 0.5, "typo": 1}, "nope": 2}) == [
        "gate.typo: not a key of agentic.config in policies/data.json",
        "nope: not a key of agentic.config in policies/data.json",
    ]
    assert bundle.override_errors(base, {"gate": 1}) == ["gate: must be an object, as in policies/data.json"]
    assert bundle.override_errors(base, {"images": {"a": 1}}) == [
        "images: must not be an object, as in policies/data.json"
    ]


def test_deep_merge_leaves_its_inputs_alone() -> None:
    base, overrides = {"a": {"b": 1, "c": [1]}}, {"a": {"b": 2}}
    assert bundle.deep_merge(base, overrides) == {"a": {"b": 2, "c": [1]}}
    assert base == {"a": {"b": 1, "c": [1]}}


def test_a_bundle_over_the_configmap_limit_is_refused(tmp_path: Path) -> None:
    (tmp_path / "huge.rego").write_text("x" * bundle.CONFIGMAP_LIMIT)
    with pytest.raises(bundle.BundleError, match="ConfigMap limit"):
        bundle.policies(tmp_path)


def test_unreadable_policy_data_is_reported(tmp_path: Path) -> None:
    (tmp_path / "data.json").write_text("{not json")
    with pytest.raises(bundle.BundleError, match="not JSON"):
        bundle.policy_data(tmp_path)
