"""Operator settings: from the environment, validated once at start-up.

:data:`TABLE` is the one list of settings: :meth:`Settings.from_env` reads it, the
command line (``python -m agentic_operator --help``) is generated from it, the Pulumi
``Operator`` component writes the Deployment's environment through :func:`environment`,
and README's "Operator settings" table is :func:`markdown_table` (a test compares them).
A bad value stops the operator at start with a message naming the variable rather than
misbehaving later.

The platform's defaults (the agent image, the artifact bucket) are not the operator's:
the platform's stack config owns them and hands them over as required variables.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentic_operator.api import DNS_LABEL_PATTERN, python_pattern

PREFIX = "AGENTIC_"
_NAMESPACE = python_pattern(DNS_LABEL_PATTERN)
_REQUIRED = dataclasses.MISSING


class SettingsError(ValueError):
    """A setting with a bad value; the message names the environment variable."""


@dataclass(frozen=True)
class Settings:
    """What the operator needs to know about the platform it runs in."""

    # Required: the platform's own defaults, handed over by the Pulumi program.
    default_agent_image: str
    default_bucket: str
    namespaces: tuple[str, ...] = ("default",)
    # Policy: the OPA sidecar's REST API.
    opa_url: str = "http://127.0.0.1:8181"
    opa_timeout_seconds: float = 2.0
    api_timeout_seconds: float = 10.0
    # Safety net only: reconciles are driven by watch events.
    resync_seconds: float = 300.0
    # Status writes that change no phase (Argo's progress) wait this long, per workload.
    status_coalesce_seconds: float = 10.0
    workers: int = 32
    http_port: int = 8080
    log_format: str = "json"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``AGENTIC_*`` variables; unset ones keep their defaults. Raises
        :class:`SettingsError` naming every bad or missing variable."""
        env = os.environ if env is None else env
        kwargs: dict[str, Any] = {}
        errors: list[str] = []
        for setting in TABLE:
            raw = (env.get(setting.variable) or "").strip()
            if not raw:
                if setting.required:
                    errors.append(f"{setting.variable}: required ({setting.doc})")
                continue
            try:
                kwargs[setting.name] = setting.parse(raw)
            except ValueError as exc:
                errors.append(f"{setting.variable}: {exc}")
        if errors:
            raise SettingsError("; ".join(errors))
        return cls(**kwargs)


# ---------------------------------------------------------------------------------------
# Parsers: each returns the value or raises ValueError saying what is wrong with it.


def _namespaces(raw: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    bad = [n for n in names if not _NAMESPACE.match(n) or len(n) > 63]
    if not names or bad:
        raise ValueError(f"invalid namespace name(s) {bad or raw!r}")
    return names


def _text(raw: str) -> str:
    return raw


def _positive(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a valid float") from None
    if not value > 0:
        raise ValueError("must be positive")
    return value


def _non_negative(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a valid float") from None
    if not value >= 0:
        raise ValueError("must not be negative")
    return value


def _integer(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a valid int") from None
        if not low <= value <= high:
            raise ValueError(f"{value} is {what}")
        return value

    return parse


def _log_format(raw: str) -> str:
    if raw not in ("json", "text"):
        raise ValueError(f"{raw!r} is not json or text")
    return raw


@dataclass(frozen=True)
class Setting:
    """One setting: its :class:`Settings` field, how its text is read, what it is for."""

    name: str
    parse: Callable[[str], Any]
    doc: str
    repeatable_flag: str | None = None  # e.g. --namespace x --namespace y for a list

    @property
    def variable(self) -> str:
        return PREFIX + self.name.upper()

    @property
    def flag(self) -> str:
        return self.repeatable_flag or "--" + self.name.replace("_", "-")

    @property
    def default(self) -> Any:
        return _FIELDS[self.name].default

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def render(self, value: Any) -> str:
        """A value as this setting's variable holds it (lists comma-separated)."""
        return ",".join(value) if isinstance(value, tuple | list) else str(value)


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
TABLE: tuple[Setting, ...] = (
    Setting("namespaces", _namespaces, "namespaces to watch, comma-separated", repeatable_flag="--namespace"),
    Setting("opa_url", _text, "the OPA sidecar's REST API"),
    Setting("opa_timeout_seconds", _positive, "per-query policy timeout"),
    Setting("api_timeout_seconds", _positive, "per-request Kubernetes API timeout"),
    Setting("default_agent_image", _text, "the platform's agent image, for workloads without spec.agentImage"),
    Setting("default_bucket", _text, "the platform's artifact bucket, for workloads without spec.minioBucket"),
    Setting("resync_seconds", _positive, "safety-net resync interval"),
    Setting(
        "status_coalesce_seconds",
        _non_negative,
        "how long a status change without a phase transition (progress) may wait to be written (0: never)",
    ),
    Setting("workers", _integer(1, 64, "not between 1 and 64"), "concurrent reconciles (1 to 64)"),
    Setting("http_port", _integer(1, 65535, "not a port"), "port of /healthz, /readyz and /metrics"),
    Setting("log_format", _log_format, "log lines as json or text"),
)
assert {s.name for s in TABLE} == set(_FIELDS), "every Settings field is in the table, once"
_BY_NAME = {s.name: s for s in TABLE}


def _shown(setting: Setting) -> str:
    if setting.required:
        return "required"
    return "unset" if setting.default is None else setting.render(setting.default)


def environment(values: Mapping[str, Any]) -> dict[str, str]:
    """The variables that set ``values`` (Settings field -> value), in table order."""
    unknown = sorted(set(values) - set(_BY_NAME))
    if unknown:
        raise KeyError(f"not operator settings: {', '.join(unknown)}")
    return {s.variable: s.render(values[s.name]) for s in TABLE if s.name in values}


def help_text() -> str:
    """The settings as ``--help`` lists them."""
    width = max(len(s.variable) for s in TABLE) + 2
    return "\n".join(f"  {s.variable:<{width}}{s.doc} [{_shown(s)}]" for s in TABLE)


def markdown_table() -> str:
    """The settings as README's table."""
    rows = [
        "| variable | flag | default | meaning |",
        "|---|---|---|---|",
        *(f"| `{s.variable}` | `{s.flag}` | {_shown(s)} | {s.doc[0].upper() + s.doc[1:]}. |" for s in TABLE),
    ]
    return "\n".join(rows)
