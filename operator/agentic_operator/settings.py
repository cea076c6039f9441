"""Operator settings: from the environment, validated once at start-up.

The Pulumi ``Operator`` component sets these variables on the Deployment; a bad value stops
the operator at start with a message naming the variable rather than misbehaving later.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_PREFIX = "AGENTIC_"
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class SettingsError(ValueError):
    """A setting with a bad value; the message names the environment variable."""


@dataclass(frozen=True)
class Settings:
    """What the operator needs to know about the platform it runs in."""

    namespaces: tuple[str, ...] = ("default",)
    # Policy: the OPA sidecar's REST API, or (when policy_dir is set) in-process Rego.
    opa_url: str = "http://127.0.0.1:8181"
    opa_timeout_seconds: float = 2.0
    policy_dir: str | None = None
    api_timeout_seconds: float = 10.0
    # The platform sets AGENTIC_DEFAULT_AGENT_IMAGE; this default is bundled mode's image.
    default_agent_image: str = "python:3.11.16-slim"
    default_bucket: str = "agentic-artifacts"
    # Safety net only: reconciles are driven by watch events.
    resync_seconds: float = 300.0
    workers: int = 4
    http_port: int = 8080
    log_format: str = "json"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``AGENTIC_*`` variables; unset ones keep their defaults."""
        env = os.environ if env is None else env
        kwargs: dict[str, Any] = {}

        def get(name: str) -> str | None:
            value = env.get(_PREFIX + name)
            return value.strip() if value is not None and value.strip() else None

        if (raw := get("NAMESPACES")) is not None:
            names = tuple(n.strip() for n in raw.split(",") if n.strip())
            bad = [n for n in names if not _NAMESPACE.match(n) or len(n) > 63]
            if not names or bad:
                raise SettingsError(f"{_PREFIX}NAMESPACES: invalid namespace name(s) {bad or raw!r}")
            kwargs["namespaces"] = names
        for name, attr, conv in (
            ("OPA_URL", "opa_url", str),
            ("POLICY_DIR", "policy_dir", str),
            ("DEFAULT_AGENT_IMAGE", "default_agent_image", str),
            ("DEFAULT_BUCKET", "default_bucket", str),
            ("OPA_TIMEOUT_SECONDS", "opa_timeout_seconds", float),
            ("API_TIMEOUT_SECONDS", "api_timeout_seconds", float),
            ("RESYNC_SECONDS", "resync_seconds", float),
            ("HTTP_PORT", "http_port", int),
            ("WORKERS", "workers", int),
            ("LOG_FORMAT", "log_format", str),
        ):
            if (raw := get(name)) is None:
                continue
            try:
                kwargs[attr] = conv(raw)
            except ValueError:
                raise SettingsError(f"{_PREFIX}{name}: {raw!r} is not a valid {conv.__name__}") from None
        settings = cls(**kwargs)
        for name in ("resync_seconds", "opa_timeout_seconds", "api_timeout_seconds"):
            if getattr(settings, name) <= 0:
                raise SettingsError(f"{_PREFIX}{name.upper()}: must be positive")
        if not 1 <= settings.workers <= 64:
            raise SettingsError(f"{_PREFIX}WORKERS: {settings.workers} is not between 1 and 64")
        if not 0 < settings.http_port < 65536:
            raise SettingsError(f"{_PREFIX}HTTP_PORT: {settings.http_port} is not a port")
        if settings.log_format not in ("json", "text"):
            raise SettingsError(f"{_PREFIX}LOG_FORMAT: {settings.log_format!r} is not json or text")
        return settings
