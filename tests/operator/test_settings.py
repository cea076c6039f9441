"""Operator settings from the environment and the command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agentic_operator.__main__ import parse_args
from agentic_operator.settings import Settings, SettingsError


def test_defaults_without_environment() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.opa_url == "http://127.0.0.1:8181" and settings.namespaces == ("default",)


def test_environment_is_read_and_converted() -> None:
    settings = Settings.from_env(
        {
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
        Settings.from_env(env)


def test_flags_override_the_environment() -> None:
    settings, verbose = parse_args(
        ["--namespace", "x", "--namespace", "y", "--workers", "3"], {"AGENTIC_NAMESPACES": "z", "AGENTIC_WORKERS": "1"}
    )
    assert settings.namespaces == ("x", "y") and settings.workers == 3 and not verbose


def test_help_documents_running_against_a_cluster() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agentic_operator", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for text in ("kubeconfig", "agentic.dev/approval=approved", "AGENTIC_NAMESPACES", "--policy-dir"):
        assert text in result.stdout


def test_bad_settings_exit_with_a_message_not_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agentic_operator", "--http-port", "0"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "AGENTIC_HTTP_PORT" in result.stderr and "Traceback" not in result.stderr
