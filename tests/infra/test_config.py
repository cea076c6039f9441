"""Stack configuration: defaults, the dev stack, and every bad value stopping the program."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components import config
from components.config import ConfigError, PlatformConfig
from tests.infra.conftest import ROOT, dev_config, run_main
from tests.infra.harness import Harness, is_secret, outside_secrets


def load(harness: Harness, policy_dir: Path) -> PlatformConfig:
    loaded: list[PlatformConfig] = []
    harness.run(lambda: loaded.append(config.load(policy_dir=policy_dir)))
    return loaded[0]


def test_defaults_suit_a_local_cluster(tmp_path: Path) -> None:
    settings = load(Harness(), tmp_path)
    assert settings.cluster == config.ClusterConfig(context="kind-agentic", kubeconfig=None)
    assert settings.namespace == "agentic-system"
    assert settings.workload_namespaces == ("agentic-jobs",)
    assert settings.argo.namespace == "argo"
    assert settings.argo.chart_version == "1.0.18"
    assert settings.minio.image == "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"
    assert settings.minio.storage_size == "10Gi"
    assert settings.operator.replicas == 1
    assert settings.operator.image is None  # bundled mode
    assert settings.operator.opa_image == "openpolicyagent/opa:1.22.3-static"
    assert settings.template.artifacts.endpoint == "minio.agentic-system.svc.cluster.local:9000"
    assert settings.minio.root.user is None and settings.minio.root.password is None  # generated
    assert settings.database_dsn is None


def test_every_default_passes_its_own_check() -> None:
    for key, field in config.FIELDS.items():
        if field.default is not None and field.check is not None:
            assert field.check(field.default) is None, key


def test_the_dev_stack_file_is_short_and_valid(tmp_path: Path) -> None:
    values = dev_config()
    assert len(values) <= 6
    settings = load(Harness(values), tmp_path)
    assert settings.workload_namespaces == ("team-a", "team-b")
    assert settings.operator.workload_namespaces == settings.argo.workload_namespaces == ("team-a", "team-b")


def test_structured_keys_read_like_dotted_keys(tmp_path: Path) -> None:
    """``pulumi config set --path minio.storageSize 20Gi`` stores an object under ``minio``."""
    settings = load(Harness({"minio": {"storageSize": "20Gi", "bucket": "jobs"}}), tmp_path)
    assert (settings.minio.storage_size, settings.minio.bucket) == ("20Gi", "jobs")
    assert settings.template.artifacts.bucket == settings.operator.default_bucket == "jobs"


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("kubernetes.kubeconfig", "/nonexistent/kubeconfig", "not a kubeconfig file"),
        ("kubernetes.context", " ", "must name a kubeconfig context"),
        ("namespace", "Agentic_System", "not a valid namespace name"),
        ("namespace", "kube-agentic", "reserved"),
        ("workloadNamespaces", "team-a", "is not a list"),
        ("workloadNamespaces", [], "1 to 32"),
        ("workloadNamespaces", ["team-a", "team-a"], "twice"),
        ("workloadNamespaces", ["agentic-system"], "also hold the platform or Argo"),
        ("argo.namespace", "agentic-system", "must differ"),
        ("argo.install", "kustomize", "is not one of helm, external"),
        ("retain.crd", "maybe", "is not a boolean"),
        ("retain.minioData", 1, "is not a boolean"),
        ("argo.chartVersion", "*", "not a pinned chart version"),
        ("argo.chartVersion", "^1", "not a pinned chart version"),
        ("argo.chartVersion", "latest", "not a pinned chart version"),
        ("minio.image", "quay.io/minio/minio:latest", "not pinned"),
        ("minio.image", "quay.io/minio/minio", "not pinned"),
        ("operator.opaImage", "openpolicyagent/opa:1.19-static", "not pinned"),
        ("operator.image", "Not An Image", "not a container image"),
        ("minio.storageSize", "10GB", "not a size"),
        ("minio.storageSize", "512Mi", "out of range"),
        ("minio.storageSize", "17Ti", "out of range"),
        ("minio.bucket", "Bad_Bucket", "not a valid bucket name"),
        ("operator.replicas", 2, "exactly 1 replica"),
        ("operator.replicas", "one", "is not an integer"),
        ("operator.resyncSeconds", 1, "out of range"),
        ("template.browserlessUrl", "browserless:3000", "not an http(s) URL"),
        ("policy.data", [1], "is not an object"),
        ("minio", "10Gi", "must be an object"),
        ("unknownKey", "x", "unknown key"),
        ("minio.storagesize", "5Gi", "did you mean minio.storageSize?"),
    ],
)
def test_a_bad_value_stops_the_program_before_any_resource(key: str, value: Any, problem: str) -> None:
    harness = Harness({**dev_config(), key: value})
    with pytest.raises(ConfigError) as error:
        run_main(harness)
    assert re.search(rf"agentic-platform:{re.escape(key)}: .*{re.escape(problem)}", str(error.value)), error.value
    assert harness.registered == []


def test_all_problems_are_reported_at_once() -> None:
    harness = Harness({"namespace": "Bad", "minio.storageSize": "big", "operator.replicas": 3})
    with pytest.raises(ConfigError) as error:
        run_main(harness)
    lines = str(error.value).splitlines()[1:]
    assert [line.split(":")[1] for line in lines] == ["namespace", "minio.storageSize", "operator.replicas"]


@pytest.mark.parametrize("key", [k for k, f in config.FIELDS.items() if f.secret])
def test_credentials_given_as_plain_values_are_refused_without_echoing_them(key: str) -> None:
    harness = Harness({key: "postgres://user:hunter2hunter2@db:5432/x"})
    with pytest.raises(ConfigError, match=rf"agentic-platform:{re.escape(key)}: must be a secret") as error:
        run_main(harness)
    assert "hunter2" not in str(error.value)
    assert harness.registered == []


def test_secret_values_are_checked_without_echoing_them() -> None:
    harness = Harness({"minio.rootPassword": "short7!"}, secrets=["minio.rootPassword"])
    with pytest.raises(ConfigError, match="shorter than 8") as error:
        run_main(harness)
    assert "short7!" not in str(error.value)


def test_a_secret_group_makes_its_members_secret(tmp_path: Path) -> None:
    """With ``--path --secret``, Pulumi marks the whole ``minio`` object secret."""
    harness = Harness({"minio": {"rootPassword": "s3cret-s3cret"}}, secrets=["minio"])
    settings = load(harness, tmp_path)
    assert settings.minio.root.password is not None


def test_secure_credentials_and_dsn_stay_secret_in_every_resource(tmp_path: Path) -> None:
    values = {
        "minio.rootUser": "admin-user",
        "minio.rootPassword": "root-password-123",
        "template.databaseDsn": "postgres://agent:db-password-456@db:5432/agents",
    }
    harness = Harness(values, secrets=list(values))
    run = run_main(harness)
    for resource in run.resources:
        leaked = [v for v in outside_secrets(resource.inputs) if isinstance(v, str) and v in values.values()]
        assert leaked == [], resource.name
    minio = run.one("kubernetes:core/v1:Secret", "minio-credentials")
    assert is_secret(minio.inputs["stringData"])
    assert minio.manifest["stringData"]["rootPassword"] == "root-password-123"
    assert not any(r.name.endswith("-root-password") for r in run.resources)  # not generated
    dsn = [r for r in run.of_type("kubernetes:core/v1:Secret") if r.manifest["metadata"]["name"] == "agentic-database"]
    assert [r.manifest["metadata"]["namespace"] for r in dsn] == ["agentic-jobs"]
    assert dsn[0].manifest["stringData"] == {"dsn": values["template.databaseDsn"]}


def _policy_dir(tmp_path: Path) -> Path:
    data = {"agentic": {"config": {"gate": {"threshold": 0.9}, "allowedImages": ["x"]}}}
    (tmp_path / "data.json").write_text(json.dumps(data))
    return tmp_path


def test_policy_overrides_must_name_keys_of_the_policy_data(tmp_path: Path) -> None:
    policies = _policy_dir(tmp_path)
    assert load(Harness({"policy.data": {"gate": {"threshold": 0.8}}}), policies).operator.policy_overrides == {
        "gate": {"threshold": 0.8}
    }
    harness = Harness({"policy.data": {"gate": {"treshold": 0.8}}})
    with pytest.raises(ConfigError, match=r"agentic-platform:policy.data: gate.treshold: not a key"):
        load(harness, policies)
    assert harness.registered == []


def test_without_policy_data_any_override_is_accepted(tmp_path: Path) -> None:
    settings = load(Harness({"policy.data": {"anything": {"goes": 1}}}), tmp_path)
    assert settings.operator.policy_overrides == {"anything": {"goes": 1}}


def test_the_readme_documents_every_key_with_its_default() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Stack configuration", 1)[1].split("\n## ", 1)[0]
    for key, field in config.FIELDS.items():
        row = next((line for line in section.splitlines() if line.startswith(f"| `{key}` |")), None)
        assert row is not None, f"README lacks {key}"
        if field.default not in (None, {}):
            shown = field.default if isinstance(field.default, str) else json.dumps(field.default)
            assert str(shown) in row, f"README row for {key} lacks its default {shown}"


@pytest.mark.parametrize(
    ("settings", "key", "message"),
    [
        (
            {"template.agentImage": "docker.io/me/agent:1.0.0"},
            "template.agentImage",
            'image "docker.io/me/agent:1.0.0" is not from an allowed registry',
        ),
        (
            # A valid bucket name the stack's policy.data narrows away: only admission knows.
            {"minio.bucket": "artifacts", "policy.data": {"bucket_pattern": "^team-[a-z0-9-]{1,58}$"}},
            "minio.bucket",
            'bucket "artifacts" does not match bucket_pattern',
        ),
    ],
)
def test_defaults_the_admission_policy_would_deny_fail_before_any_resource(
    settings: dict[str, Any], key: str, message: str
) -> None:
    """Accepted by their own checks, denied by admission for every workload: caught at preview, naming the key."""
    harness = Harness(settings)
    with pytest.raises(
        ConfigError, match=rf"agentic-platform:{re.escape(key)}: the admission policy denies it: {re.escape(message)}"
    ):
        load(harness, ROOT / "policies")
    assert harness.registered == []


def test_an_image_the_stack_allows_in_the_policy_data_passes() -> None:
    """policy.data allowed_registries is what admission reads, so it is what the check reads."""
    image = "docker.io/me/agent:1.0.0"
    loaded = load(
        Harness({"template.agentImage": image, "policy.data": {"allowed_registries": ["docker.io/me"]}}),
        ROOT / "policies",
    )
    assert loaded.template.agent_image == image and loaded.template.agent_bundle is None  # image mode


def test_the_default_is_the_bundled_agent_and_admission_allows_it() -> None:
    """No template.agentImage: the Python image with the agent's source bundle, and no error."""
    loaded = load(Harness(), ROOT / "policies")
    assert loaded.template.agent_image == config.DEFAULT_AGENT_IMAGE and loaded.template.agent_bundle is not None
    assert loaded.operator.default_agent_image == loaded.template.agent_image


def test_the_stack_file_says_which_keys_are_set_and_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pulumi.Config cannot list keys or tell secrets apart; the stack settings file can."""
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n"
        "  agentic-platform:minio.rootUser:\n    secure: v1:abc\n"
        "  agentic-platform:minio:\n    rootPassword:\n      secure: v1:def\n    storageSize: 5Gi\n"
        "  agentic-platform:namespace: platform\n"
        "  kubernetes:context: kind\n"
    )
    monkeypatch.setattr(config, "STACK_CONFIG_DIR", tmp_path)
    monkeypatch.setattr(pulumi, "get_stack", lambda: "dev")
    assert config._stack_file() == ({"minio.rootUser", "minio", "namespace"}, {"minio.rootUser", "minio"})
    monkeypatch.setattr(pulumi, "get_stack", lambda: "prod")  # no file: nothing was set
    assert config._stack_file() == (set(), set())
