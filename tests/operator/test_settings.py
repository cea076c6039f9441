"""Operator settings from the environment and the command line."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentic_operator import settings
from agentic_operator.__main__ import parse_args
from agentic_operator.settings import Settings, SettingsError

PLATFORM = {"AGENTIC_DEFAULT_AGENT_IMAGE": "reg.example/agent:1.0.0", "AGENTIC_DEFAULT_BUCKET": "jobs"}


def test_defaults_with_only_the_platform_values() -> None:
    settings = Settings.from_env(PLATFORM)
    assert settings == Settings(default_agent_image="reg.example/agent:1.0.0", default_bucket="jobs")
    assert settings.opa_url == "http://127.0.0.1:8181" and settings.namespaces == ("default",)


def test_the_platform_values_are_required_and_each_missing_one_is_named() -> None:
    """They are the platform's (stack config), handed over by the Deployment: no operator default."""
    with pytest.raises(SettingsError) as error:
        Settings.from_env({})
    assert "AGENTIC_DEFAULT_AGENT_IMAGE: required" in str(error.value)
    assert "AGENTIC_DEFAULT_BUCKET: required" in str(error.value)


def test_environment_is_read_and_converted() -> None:
    settings = Settings.from_env(
        {
            **PLATFORM,
            "AGENTIC_NAMESPACES": "team-a, team-b",
            "AGENTIC_RESYNC_SECONDS": "60",
            "AGENTIC_WORKERS": "2",
            "AGENTIC_LOG_FORMAT": "text",
        }
    )
    assert settings.namespaces == ("team-a", "team-b")
    assert (settings.resync_seconds, settings.workers, settings.log_format) == (60.0, 2, "text")


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"AGENTIC_NAMESPACES": "Team_A"}, "AGENTIC_NAMESPACES"),
        ({"AGENTIC_NAMESPACES": " , "}, "AGENTIC_NAMESPACES"),
        ({"AGENTIC_RESYNC_SECONDS": "soon"}, "AGENTIC_RESYNC_SECONDS"),
        ({"AGENTIC_RESYNC_SECONDS": "0"}, "AGENTIC_RESYNC_SECONDS"),
        ({"AGENTIC_HTTP_PORT": "70000"}, "AGENTIC_HTTP_PORT"),
        ({"AGENTIC_WORKERS": "0"}, "AGENTIC_WORKERS"),
        ({"AGENTIC_LOG_FORMAT": "xml"}, "AGENTIC_LOG_FORMAT"),
    ],
)
def test_a_bad_value_names_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({**PLATFORM, **env})


def test_flags_override_the_environment() -> None:
    settings, verbose = parse_args(
        ["--namespace", "x", "--namespace", "y", "--workers", "3"],
        {**PLATFORM, "AGENTIC_NAMESPACES": "z", "AGENTIC_WORKERS": "1"},
    )
    assert settings.namespaces == ("x", "y") and settings.workers == 3 and not verbose


def test_help_documents_running_against_a_cluster() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agentic_operator", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for text in ("kubeconfig", "agentic.dev/approval=approved", "AGENTIC_NAMESPACES", "--opa-url"):
        assert text in result.stdout


def test_every_settings_field_has_a_flag_and_a_variable() -> None:
    """One table makes the variables, the flags, --help and README's table."""
    names = {f.name for f in dataclasses.fields(Settings)}
    assert {s.name for s in settings.TABLE} == names
    flags = ["--default-bucket", "b", "--default-agent-image", "i", "--opa-timeout-seconds", "0.5"]
    parsed, _ = parse_args(flags, {})
    assert (parsed.default_bucket, parsed.default_agent_image, parsed.opa_timeout_seconds) == ("b", "i", 0.5)


def test_the_readme_table_is_the_settings_table() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert settings.markdown_table() in readme, (
        "README's operator settings table is stale: paste settings.markdown_table()"
    )


def test_environment_renders_what_from_env_reads() -> None:
    values = {"namespaces": ("a", "b"), "default_agent_image": "i", "default_bucket": "b", "http_port": 9090}
    parsed = Settings.from_env(settings.environment(values))
    assert (parsed.namespaces, parsed.http_port) == (("a", "b"), 9090)
    with pytest.raises(KeyError, match="not operator settings: bogus"):
        settings.environment({"bogus": 1})


def test_bad_settings_exit_with_a_message_not_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agentic_operator", "--http-port", "0"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "AGENTIC_HTTP_PORT" in result.stderr and "Traceback" not in result.stderr


def test_no_credentials_exit_with_one_line_not_a_traceback(tmp_path: Path) -> None:
    """Neither a pod's service account nor a kubeconfig: say so in one line (a traceback was 36)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_", "AGENTIC_"))}
    env |= {"KUBECONFIG": str(tmp_path / "none"), "HOME": str(tmp_path)}
    env |= settings.environment({"default_agent_image": "agent:1.0.0", "default_bucket": "bucket"})
    result = subprocess.run(
        [sys.executable, "-m", "agentic_operator"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and not result.stdout, result
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("agentic-operator: no Kubernetes credentials")
