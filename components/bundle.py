"""What the operator's pod mounts, read from the repository: pure functions, no Pulumi.

- The operator's source (``operator/agentic_operator/**/*.py``, with the step contract
  ``contract/agentic_contract/**/*.py`` it imports) and its pinned runtime dependencies
  (``operator/requirements.lock``), for *bundled mode*: a stock Python image installs the
  lock file and runs the mounted source, so a change to the operator needs no image
  build, only ``pulumi up``.
- The policies for the OPA sidecar: every ``policies/*.rego`` except ``*_test.rego``,
  and ``policies/data.json`` with the stack's overrides deep-merged over its
  ``agentic.config``.

Both go into ConfigMaps. ConfigMap keys cannot contain ``/``, so each file gets a flat
key and the volume's ``items`` put it back at its relative path. A content hash of each
ConfigMap is set as a pod-template annotation: any change rolls the Deployment (kubelet
refreshes mounted ConfigMaps, but neither Python nor OPA reload them).

Ref: https://kubernetes.io/docs/concepts/configuration/configmap/#using-configmaps-as-files-from-a-pod
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OPERATOR_DIR = ROOT / "operator"
AGENT_DIR = ROOT / "agent"
CONTRACT_DIR = ROOT / "contract"
POLICY_DIR = ROOT / "policies"
PACKAGE = "agentic_operator"
AGENT_PACKAGE = "agentic_agent"
CONTRACT_PACKAGE = "agentic_contract"
AGENT_LAUNCHER = "bin/agent"
REQUIREMENTS = "requirements.lock"
DATA_FILE = "data.json"
# The stack-configurable part of the policy data: data.json's {"agentic": {"config": ...}}.
CONFIG_PATH = ("agentic", "config")
# etcd's default request limit; a ConfigMap larger than this cannot be stored.
CONFIGMAP_LIMIT = 1024 * 1024


class BundleError(ValueError):
    """The files cannot be bundled (too large, unreadable data.json)."""


@dataclass(frozen=True)
class Bundle:
    """ConfigMap ``data`` plus the volume ``items`` that restore the relative paths."""

    data: dict[str, str]
    items: list[dict[str, Any]]

    @property
    def hash(self) -> str:
        """A content hash (sha256 over sorted keys and values), for a rollout annotation."""
        digest = hashlib.sha256()
        for key in sorted(self.data):
            digest.update(key.encode() + b"\0" + self.data[key].encode() + b"\0")
        return digest.hexdigest()


def _bundle(files: Mapping[str, str], executables: frozenset[str] = frozenset()) -> Bundle:
    """``files`` maps relative paths to text; keys replace ``/`` with ``__``."""
    data = {path.replace("/", "__"): text for path, text in sorted(files.items())}
    if len(data) != len(files):
        raise BundleError("two files map to the same ConfigMap key")
    size = sum(len(k) + len(v.encode()) for k, v in data.items())
    if size > CONFIGMAP_LIMIT:
        raise BundleError(f"bundle is {size} bytes, over the {CONFIGMAP_LIMIT}-byte ConfigMap limit")
    items: list[dict[str, Any]] = [{"key": path.replace("/", "__"), "path": path} for path in sorted(files)]
    for item in items:
        if item["path"] in executables:
            item["mode"] = 0o555
    return Bundle(data=data, items=items)


def package_files(parent: Path, package: str) -> dict[str, str]:
    """A package's ``.py`` files by their path relative to ``parent`` (``package/...``)."""
    return {
        path.relative_to(parent).as_posix(): path.read_text()
        for path in sorted((parent / package).rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def operator_source(operator_dir: Path = OPERATOR_DIR, contract_dir: Path = CONTRACT_DIR) -> Bundle:
    """The operator package's ``.py`` files, the contract package's, and ``requirements.lock``."""
    files = package_files(operator_dir, PACKAGE) | package_files(contract_dir, CONTRACT_PACKAGE)
    files[REQUIREMENTS] = (operator_dir / REQUIREMENTS).read_text()
    return _bundle(files)


def agent_source(agent_dir: Path = AGENT_DIR, contract_dir: Path = CONTRACT_DIR) -> Bundle:
    """Bundled mode's agent: its package, the contract package, the hashed lock and the launcher."""
    files = package_files(agent_dir, AGENT_PACKAGE) | package_files(contract_dir, CONTRACT_PACKAGE)
    files[REQUIREMENTS] = (agent_dir / REQUIREMENTS).read_text()
    files[AGENT_LAUNCHER] = (agent_dir / AGENT_LAUNCHER).read_text()
    return _bundle(files, frozenset({AGENT_LAUNCHER}))


def policy_data(policy_dir: Path = POLICY_DIR) -> dict[str, Any] | None:
    """``policies/data.json``, or None when there is none."""
    path = policy_dir / DATA_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise BundleError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise BundleError(f"{path}: not a JSON object")
    return data


def config_section(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``agentic.config`` of the policy data, or None when the data has none."""
    node: Any = data
    for part in CONFIG_PATH:
        node = node.get(part) if isinstance(node, Mapping) else None
    return node if isinstance(node, dict) else None


def override_errors(base: Mapping[str, Any], overrides: Mapping[str, Any], where: str = "") -> list[str]:
    """Override keys that ``base`` lacks, or objects overriding non-objects (and back)."""
    errors = []
    for key, value in overrides.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in base:
            errors.append(f"{path}: not a key of agentic.config in policies/{DATA_FILE}")
        elif isinstance(base[key], dict) != isinstance(value, dict):
            shape = "be an object" if isinstance(base[key], dict) else "not be an object"
            errors.append(f"{path}: must {shape}, as in policies/{DATA_FILE}")
        elif isinstance(value, dict):
            errors.extend(override_errors(base[key], value, path))
    return errors


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in: objects merge key by key, other values replace."""
    out = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merged_config(policy_dir: Path = POLICY_DIR, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``agentic.config`` as the sidecar loads it: data.json's, with ``overrides`` merged in.

    The platform's other readers of the policy data (the NetworkPolicies'
    ``blocked_networks``, MinIO's ``allowed_buckets``) read this same merge.
    """
    return deep_merge(config_section(policy_data(policy_dir)) or {}, overrides or {})


def policy_files(policy_dir: Path) -> list[Path]:
    """The modules OPA gets: the directory's ``*.rego`` files but its ``*_test.rego``, sorted."""
    return sorted(p for p in policy_dir.glob("*.rego") if not p.name.endswith("_test.rego"))


def policies(policy_dir: Path = POLICY_DIR, overrides: Mapping[str, Any] | None = None) -> Bundle:
    """The modules (:func:`policy_files`), and data.json with ``overrides`` merged into
    agentic.config: what the sidecar serves, and what the tests' OPA (testkit/opa.py) loads.

    A missing or empty ``policies/`` gives an empty bundle (plus data.json when there are
    overrides): OPA then answers no decision, and the operator fails closed.
    """
    files = {path.name: path.read_text() for path in policy_files(policy_dir)}
    data = policy_data(policy_dir)
    if data is not None or overrides:
        merged = deep_merge(data or {}, {CONFIG_PATH[0]: {CONFIG_PATH[1]: dict(overrides or {})}})
        files[DATA_FILE] = json.dumps(merged, indent=2, sort_keys=True) + "\n"
    return _bundle(files)
