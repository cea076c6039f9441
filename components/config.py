"""Stack configuration: the only module that reads it (what ``pulumi.Config`` reads).

:func:`load` reads every ``agentic-platform:*`` key once, through ``pulumi.Config``, checks all of them, and returns
frozen, typed objects; any problem stops the program *before a resource is registered*,
with one error that names each bad key (``agentic-platform:minio.storageSize: ...``).
Every key has a default that suits a local kind cluster, so ``Pulumi.dev.yaml`` only says
where dev differs. ``FIELDS`` is the table of keys (README "Stack configuration" lists it).

Keys are flat, dotted names (``pulumi config set minio.storageSize 20Gi``); the structured
form (``pulumi config set --path minio.storageSize 20Gi``, stored as an object under
``minio``) is read the same way.

Credentials are never plain: a credential or the database DSN given as a plain value is
an error (set it with ``pulumi config set --secret``); unset credentials are generated
once by ``GeneratedSecret`` (components/generated.py) in the ``Minio`` component and kept, encrypted, in the state.

Ref: https://www.pulumi.com/docs/iac/concepts/config/
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from agentic_operator import api
from components import admission_defaults, bundle, tenants
from components.quotas import DEFAULT_LIMIT, QuotaConfig
from components.template import ArtifactStore, TemplateSettings, minio_endpoint

PROJECT = "agentic-platform"
# Where Pulumi keeps the stack settings files: the project directory (Pulumi.yaml sets no
# stackConfigDir).
STACK_CONFIG_DIR = bundle.ROOT
ARGO_CHART_VERSION = "1.0.18"  # app v4.0.6; values checked in argoproj/argo-helm at this version
MINIO_IMAGE = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"
MINIO_CLIENT_IMAGE = "quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z"
PYTHON_IMAGE = "python:3.11.16-slim"  # bundled mode's interpreter (operator and agent)
OPA_IMAGE = "openpolicyagent/opa:1.22.3-static"
# The platform's defaults: the template's parameter defaults and, through the operator's
# environment (AGENTIC_DEFAULT_*), the operator's, for workloads that do not name their own.
DEFAULT_BUCKET = "agentic-artifacts"
# Bundled mode (template.agentImage unset): the agent's source from a ConfigMap runs on the
# Python image, so the default works on any cluster with no image to build.
DEFAULT_AGENT_IMAGE = PYTHON_IMAGE
DEFAULT_LLM_MODEL = "gpt-4o-mini"
BROWSERLESS_URL = "http://browserless.browserless.svc.cluster.local:3000"
LITELLM_URL = "http://litellm.litellm.svc.cluster.local:4000"
ARGO_INSTALLS = ("helm", "external")  # the chart, or an Argo that is already there
KIND_CONTEXT = "kind-agentic"  # what `kind create cluster --name agentic` names its context


class ConfigError(pulumi.RunError, ValueError):
    """Invalid stack configuration; each line names the full key.

    A ``pulumi.RunError``: the language host reports its message as the program's error,
    without a traceback (``pulumi preview`` then prints just the keys and what is wrong).
    """


# ---------------------------------------------------------------------------------------
# Checks: each returns a problem (without echoing secret values) or None.

_SEMVER = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")
# The AgentWorkload schema's own patterns: a platform default is then valid in a spec too.
_DNS_LABEL = api.python_pattern(api.DNS_LABEL_PATTERN)
_IMAGE = api.python_pattern(api.IMAGE_PATTERN)
# A tag pins a build when it carries a full version, a MinIO release stamp or a commit.
_PINNED_TAG = re.compile(r"(\d+\.\d+\.\d+|RELEASE\.\d{4}-|(^|[^0-9a-f])[0-9a-f]{7,40}($|[^0-9a-f]))")
_URL = api.python_pattern(api.URL_PATTERN)
_BUCKET = api.python_pattern(api.BUCKET_PATTERN)
_GI = 2**30


def _namespace(value: str) -> str | None:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        return f"{value!r} is not a valid namespace name (a DNS-1123 label: lowercase letters, digits, '-')"
    if value.startswith("kube-"):
        return f"{value!r} is reserved for Kubernetes"
    return None


def _namespaces(value: list[Any]) -> str | None:
    if not value or len(value) > 32:
        return "must list 1 to 32 namespaces"
    for item in value:
        if not isinstance(item, str) or (problem := _namespace(item)):
            return problem or f"{item!r} is not a string"
    return "lists a namespace twice" if len(set(value)) != len(value) else None


def chart_version_problem(value: str) -> str | None:
    ok = _SEMVER.match(value)
    return None if ok else f"{value!r} is not a pinned chart version (an exact x.y.z, not a range or 'latest')"


def image_problem(value: str) -> str | None:
    match = _IMAGE.match(value)
    if not match:
        return f"{value!r} is not a container image reference"
    tag, digest = match.group("tag"), match.group("digest")
    if digest or (tag and tag != "latest" and _PINNED_TAG.search(tag)):
        return None
    return (
        f"{value!r} is not pinned: use a tag with a full x.y.z version, a RELEASE.<date> "
        "stamp or a commit sha, or an @sha256 digest"
    )


def _url(value: str) -> str | None:
    return None if _URL.match(value) else f"{value!r} is not an http(s) URL"


def _bucket(value: str) -> str | None:
    if _BUCKET.match(value):
        return None
    return f"{value!r} is not a valid bucket name (3-63 of a-z, 0-9 and '-', starting and ending with a letter or digit; no dots)"


def _storage_size(value: str) -> str | None:
    size = api.quantity(value)
    if size is None:
        return f"{value!r} is not a size like 10Gi (a Kubernetes quantity)"
    return None if _GI <= size <= 16 * 2**10 * _GI else f"{value!r} is out of range (1Gi to 16Ti)"


def _replicas(value: int) -> str | None:
    # No leader election: two replicas would both reconcile every workload. One replica
    # with the Recreate strategy is the only safe count (sharding: docs/ARCHITECTURE.md).
    return None if value == 1 else f"{value} is not allowed: the operator runs exactly 1 replica (no leader election)"


def _resync(value: int) -> str | None:
    return None if 10 <= value <= 86400 else f"{value} is out of range (10 to 86400 seconds)"


def _amount(value: str) -> str | None:
    size = api.quantity(value)
    if size is None:
        return f"{value!r} is not a Kubernetes quantity (e.g. 4, 500m, 8Gi)"
    return None if size > 0 else f"{value!r} must be more than 0"


def _pods(value: int) -> str | None:
    return None if 1 <= value <= 10000 else f"{value} is out of range (1 to 10000)"


def _kubeconfig(value: str) -> str | None:
    path = Path(value).expanduser()
    return None if path.is_file() else f"{value!r} is not a kubeconfig file (no such file)"


def _context(value: str) -> str | None:
    return None if value.strip() else "must name a kubeconfig context"


def _argo_install(value: str) -> str | None:
    return None if value in ARGO_INSTALLS else f"{value!r} is not one of {', '.join(ARGO_INSTALLS)}"


def _credential(value: str) -> str | None:
    return None if len(value) >= 8 else "is shorter than 8 characters"


def _dsn(value: str) -> str | None:
    return None if "://" in value else "is not a DSN URL (scheme://...)"


@dataclass(frozen=True)
class Field:
    """One stack config key: its JSON type, default, check, whether it must be secret."""

    kind: type
    default: Any
    check: Callable[[Any], str | None] | None
    doc: str
    secret: bool = False


_QUOTA = QuotaConfig()  # the defaults of the quota.* and limits.* keys
FIELDS: dict[str, Field] = {
    # Every stack names its cluster: the provider never falls back to kubectl's current context.
    "kubernetes.context": Field(
        str, KIND_CONTEXT, _context, "kubeconfig context of the stack's cluster (never the current one)."
    ),
    "kubernetes.kubeconfig": Field(
        str, None, _kubeconfig, "kubeconfig file with that context; unset = $KUBECONFIG or ~/.kube/config."
    ),
    "namespace": Field(str, "agentic-system", _namespace, "Platform namespace: MinIO and the operator."),
    "workloadNamespaces": Field(
        list,
        ["agentic-jobs"],
        _namespaces,
        "Namespaces where AgentWorkloads run (each gets the template, executor RBAC, Secrets).",
    ),
    "argo.namespace": Field(str, "argo", _namespace, "Namespace of the Argo Workflows controller and server."),
    "argo.install": Field(str, "helm", _argo_install, "helm (the pinned chart) or external (Argo is there)."),
    "argo.chartVersion": Field(
        str, ARGO_CHART_VERSION, chart_version_problem, "argo-workflows Helm chart version (exact)."
    ),
    "minio.image": Field(str, MINIO_IMAGE, image_problem, "MinIO server image (pinned)."),
    "minio.clientImage": Field(str, MINIO_CLIENT_IMAGE, image_problem, "MinIO client (mc) image for the bucket Job."),
    "minio.storageSize": Field(str, "10Gi", _storage_size, "MinIO volume size (1Gi to 16Ti)."),
    "minio.bucket": Field(str, DEFAULT_BUCKET, _bucket, "Artifact bucket."),
    "minio.rootUser": Field(str, None, _credential, "MinIO root user (secret; generated if unset).", True),
    "minio.rootPassword": Field(str, None, _credential, "MinIO root password (secret; generated if unset).", True),
    "operator.replicas": Field(int, 1, _replicas, "Operator replicas: must be 1 (no leader election; Recreate)."),
    "operator.image": Field(
        str, None, image_problem, "Prebuilt operator image; unset = bundled mode (source ConfigMap)."
    ),
    "operator.pythonImage": Field(str, PYTHON_IMAGE, image_problem, "Python image for bundled mode."),
    "operator.opaImage": Field(str, OPA_IMAGE, image_problem, "OPA sidecar image (pinned)."),
    "operator.resyncSeconds": Field(int, 300, _resync, "Operator safety-net resync interval (10 to 86400)."),
    "template.agentImage": Field(
        str,
        None,
        image_problem,
        "Agent image with `agent` on PATH; unset = bundled mode (Python image, source ConfigMap).",
    ),
    "template.llmModel": Field(str, DEFAULT_LLM_MODEL, None, "Model name synthesis asks LiteLLM for."),
    "template.browserlessUrl": Field(str, BROWSERLESS_URL, _url, "Browserless URL for steps."),
    "template.litellmUrl": Field(str, LITELLM_URL, _url, "LiteLLM URL for steps."),
    "template.databaseDsn": Field(
        str, None, _dsn, "Database DSN for steps (secret; a Secret read via secretKeyRef).", True
    ),
    "retain.crd": Field(bool, True, None, "Keep the AgentWorkload CRD when the stack is destroyed."),
    "retain.minioData": Field(bool, True, None, "Keep MinIO's data (its namespace and volume) on destroy."),
    "policy.data": Field(dict, {}, None, "Overrides deep-merged over agentic.config in policies/data.json."),
    "quota.cpu": Field(str, _QUOTA.cpu, _amount, "Per workload namespace: most CPU its pods' limits add up to."),
    "quota.memory": Field(str, _QUOTA.memory, _amount, "Per workload namespace: most memory (sum of limits)."),
    "quota.ephemeralStorage": Field(
        str, _QUOTA.ephemeral_storage, _amount, "Per workload namespace: most ephemeral storage (sum of limits)."
    ),
    "quota.pods": Field(int, _QUOTA.pods, _pods, "Per workload namespace: most pods at once (1 to 10000)."),
    "limits.cpu": Field(
        str, _QUOTA.max_cpu, _amount, "Most CPU one container may ask for (a step's spec.resources too)."
    ),
    "limits.memory": Field(str, _QUOTA.max_memory, _amount, "Most memory one container may ask for."),
    "limits.ephemeralStorage": Field(
        str, _QUOTA.max_ephemeral_storage, _amount, "Most ephemeral storage one container may ask for."
    ),
}
_KINDS = {
    str: "a string",
    int: "an integer",
    bool: "a boolean (true or false)",
    list: "a list (JSON array)",
    dict: "an object (JSON)",
}
_GROUPS = frozenset(key.split(".")[0] for key in FIELDS if "." in key)


# ---------------------------------------------------------------------------------------
# Typed configuration.


@dataclass(frozen=True)
class Credential:
    """A user/secret pair from ``secure:`` config; a None half is generated."""

    user: pulumi.Output[str] | None = None
    password: pulumi.Output[str] | None = None


@dataclass(frozen=True)
class ClusterConfig:
    """Where the stack's resources go: the explicit Kubernetes provider's settings."""

    context: str
    kubeconfig: str | None = None  # None: the provider's default ($KUBECONFIG, ~/.kube/config)


@dataclass(frozen=True)
class ArgoConfig:
    namespace: str
    install: str  # one of ARGO_INSTALLS
    chart_version: str
    workload_namespaces: tuple[str, ...]
    artifacts: ArtifactStore


@dataclass(frozen=True)
class MinioConfig:
    namespace: str
    image: str
    client_image: str
    storage_size: str
    bucket: str
    root: Credential = field(default_factory=Credential)
    # The workload namespaces, each with a MinIO user of its own (components.tenants).
    tenants: tuple[str, ...] = ()
    # The buckets those users may use (the policy data's allowed_buckets; empty: any).
    allowed_buckets: tuple[str, ...] = ()
    retain_data: bool = True

    @property
    def buckets(self) -> tuple[str, ...]:
        """The buckets the bucket Job creates: the platform's, then every allowed one."""
        return tuple(dict.fromkeys((self.bucket, *self.allowed_buckets)))


@dataclass(frozen=True)
class OperatorConfig:
    namespace: str
    workload_namespaces: tuple[str, ...]
    image: str | None  # None: bundled mode
    python_image: str
    opa_image: str
    resync_seconds: int
    default_agent_image: str
    default_bucket: str
    policy_overrides: Mapping[str, Any]
    policy_dir: Path = bundle.POLICY_DIR
    operator_dir: Path = bundle.OPERATOR_DIR
    replicas: int = 1


@dataclass(frozen=True)
class PlatformConfig:
    cluster: ClusterConfig
    namespace: str
    workload_namespaces: tuple[str, ...]
    argo: ArgoConfig
    minio: MinioConfig
    operator: OperatorConfig
    template: TemplateSettings
    database_dsn: pulumi.Output[str] | None = None
    quota: QuotaConfig = field(default_factory=QuotaConfig)
    retain_crd: bool = True


# ---------------------------------------------------------------------------------------
# Reading.


def _full(key: str) -> str:
    return f"{PROJECT}:{key}"


def _secure(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"secure"}


def _stack_file() -> tuple[set[str], set[str]]:
    """This project's keys in the stack settings file (without the prefix), and the secret ones.

    ``pulumi.Config`` reads a key's value but can neither list the keys nor say whether a
    value was set with ``--secret``; the stack settings file (``Pulumi.<stack>.yaml``, a
    documented format) says both: a secret is stored as ``{secure: ...}``, and a group set
    with ``--path --secret`` holds such members (the whole group then counts as secret, as
    Pulumi treats it). No file: nothing was set.
    Ref: https://www.pulumi.com/docs/iac/concepts/projects/stack-settings-file/
    """
    path = STACK_CONFIG_DIR / f"Pulumi.{pulumi.get_stack()}.yaml"
    document = yaml.safe_load(path.read_text()) if path.is_file() else None
    prefix = _full("")
    keys, secret = set(), set()
    for full, value in ((document or {}).get("config") or {}).items():
        if not str(full).startswith(prefix):
            continue
        key = str(full)[len(prefix) :]
        keys.add(key)
        members = value.items() if isinstance(value, Mapping) and not _secure(value) else ()
        if _secure(value) or any(_secure(v) for _, v in members):
            secret.add(key)
    return keys, secret


def _raw() -> tuple[dict[str, Any], set[str]]:
    """This project's values, read key by key through ``pulumi.Config``, and the secret keys.

    Every key the stack file names is read (so an unknown one can be named), and every key
    the program knows (so values from elsewhere, e.g. ``pulumi up --config``, count too).
    """
    config = pulumi.Config(PROJECT)
    keys, secret = _stack_file()
    raw = {key: value for key in sorted(keys | set(FIELDS) | _GROUPS) if (value := config.get(key)) is not None}
    return raw, secret


def _decode(value: Any, kind: type) -> Any:
    """A raw value as ``kind``; structured values arrive as JSON text."""
    if kind in (list, dict) and isinstance(value, str):
        value = json.loads(value)
    elif kind is int and isinstance(value, str):
        if not re.fullmatch(r"-?[0-9]+", value.strip()):
            raise ValueError
        value = int(value)
    elif kind is bool and isinstance(value, str):  # `pulumi config set retain.crd false`
        if value not in ("true", "false"):
            raise ValueError
        value = value == "true"
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ValueError
    return value


def _flatten(raw: Mapping[str, Any], secret: set[str], errors: list[str]) -> tuple[dict[str, Any], set[str]]:
    """Expand structured groups (``minio: {storageSize: ...}``) into dotted keys."""
    flat: dict[str, Any] = {}
    flat_secret = set(secret)
    for key, value in raw.items():
        if key not in _GROUPS:
            flat[key] = value
            continue
        try:
            members = _decode(value, dict)
        except ValueError:
            errors.append(f"{_full(key)}: must be an object of {key}.* settings")
            continue
        for sub, sub_value in members.items():
            flat[f"{key}.{sub}"] = sub_value
            if key in secret:
                flat_secret.add(f"{key}.{sub}")
    return flat, flat_secret


def _values(errors: list[str]) -> tuple[dict[str, Any], dict[str, pulumi.Output[str]]]:
    """Checked plain values (defaults filled in) and the secret ones, as secret Outputs."""
    raw, secret = _raw()
    flat, secret = _flatten(raw, secret, errors)
    for key in sorted(set(flat) - set(FIELDS)):
        guess = difflib.get_close_matches(key, FIELDS, n=1)
        hint = f"did you mean {guess[0]}?" if guess else "see README, Stack configuration"
        errors.append(f"{_full(key)}: unknown key ({hint})")
    plain: dict[str, Any] = {}
    secrets: dict[str, pulumi.Output[str]] = {}
    for key, spec in FIELDS.items():
        if key not in flat:
            plain[key] = spec.default
            continue
        if spec.secret and key not in secret:
            errors.append(f"{_full(key)}: must be a secret: pulumi config set --secret {key} ...")
            continue
        try:
            value = _decode(flat[key], spec.kind)
        except ValueError:
            shown = "" if spec.secret else f" {flat[key]!r}"
            errors.append(f"{_full(key)}:{shown} is not {_KINDS[spec.kind]}")
            continue
        if spec.check is not None and (problem := spec.check(value)) is not None:
            errors.append(f"{_full(key)}: {problem}")
        elif spec.secret:
            secrets[key] = pulumi.Output.secret(value)
        else:
            plain[key] = value
    return plain, secrets


def _cross_checks(values: Mapping[str, Any], policy_dir: Path, errors: list[str]) -> None:
    """Rules between keys, and the policy overrides against policies/data.json."""
    platform, argo = values["namespace"], values["argo.namespace"]
    if platform == argo:
        errors.append(f"{_full('argo.namespace')}: must differ from {_full('namespace')} ({platform!r})")
    clash = sorted(set(values["workloadNamespaces"]) & {platform, argo})
    if clash:
        errors.append(f"{_full('workloadNamespaces')}: {clash} also hold the platform or Argo")
    errors.extend(_quota_errors(values))
    try:
        base = bundle.config_section(bundle.policy_data(policy_dir))
    except bundle.BundleError as exc:
        errors.append(f"{_full('policy.data')}: cannot read the policy data: {exc}")
        return
    if base is not None:
        problems = bundle.override_errors(base, values["policy.data"])
        errors.extend(f"{_full('policy.data')}: {e}" for e in problems)
        if not problems:
            errors.extend(_bucket_errors(values, policy_dir))
            errors.extend(_policy_default_errors(values, policy_dir))


def policy_overrides(values: Mapping[str, Any], policy_dir: Path) -> dict[str, Any]:
    """``policy.data`` over the platform's own policy settings: ``allowed_buckets`` (when
    the policies have it) is the platform's bucket unless the stack lists its own, so no
    workload names a bucket the platform did not create and grant its namespace."""
    base = bundle.config_section(bundle.policy_data(policy_dir)) or {}
    platform = {"allowed_buckets": [values["minio.bucket"]]} if "allowed_buckets" in base else {}
    return bundle.deep_merge(platform, values["policy.data"])


def allowed_buckets(values: Mapping[str, Any], policy_dir: Path) -> tuple[str, ...]:
    """The buckets workloads may name (``allowed_buckets`` as admission reads it)."""
    merged = bundle.merged_config(policy_dir, policy_overrides(values, policy_dir))
    listed = merged.get("allowed_buckets")
    return tuple(str(b) for b in listed) if isinstance(listed, list) else ()


def _bucket_errors(values: Mapping[str, Any], policy_dir: Path) -> list[str]:
    """Allowed buckets the bucket Job could not create, or too many for MinIO's policies."""
    buckets = allowed_buckets(values, policy_dir)
    errors = [f"allowed_buckets: {problem}" for b in buckets if (problem := _bucket(b)) is not None]
    errors += tenants.policy_size_errors(values["workloadNamespaces"], buckets)
    return [f"{_full('policy.data')}: {e}" for e in errors]


def _policy_default_errors(values: Mapping[str, Any], policy_dir: Path) -> list[str]:
    """The platform defaults the admission policy would deny, each named by its stack key
    (components/admission_defaults.py: the policy's two rules that judge them)."""
    if not (policy_dir / "admission.rego").exists():
        return []  # no admission policy judges the defaults (the operator fails closed anyway)
    overrides = {bundle.CONFIG_PATH[0]: {bundle.CONFIG_PATH[1]: policy_overrides(values, policy_dir)}}
    config = bundle.config_section(bundle.deep_merge(bundle.policy_data(policy_dir) or {}, overrides))
    if config is None:
        return []
    problems = admission_defaults.denied(
        config, agent_image=values["template.agentImage"] or DEFAULT_AGENT_IMAGE, bucket=values["minio.bucket"]
    )
    keys = {"image": "template.agentImage", "bucket": "minio.bucket"}
    return [f"{_full(keys[what])}: the admission policy denies it: {why}" for what, why in sorted(problems.items())]


def _quota_errors(values: Mapping[str, Any]) -> list[str]:
    """Per resource: an agent step's limit and the default limit <= limits.* <= quota.*;
    otherwise no step could run (or the API server would refuse the LimitRange)."""
    limits, storage = TemplateSettings.limits, TemplateSettings.ephemeral_storage  # the steps' fixed resources
    needed = {"cpu": limits[0], "memory": limits[1], "ephemeralStorage": storage[1]}
    defaults = {
        "cpu": DEFAULT_LIMIT["cpu"],
        "memory": DEFAULT_LIMIT["memory"],
        "ephemeralStorage": DEFAULT_LIMIT["ephemeral-storage"],
    }
    errors = []
    for key, need in needed.items():
        most, cap = api.quantity(values[f"limits.{key}"]), api.quantity(values[f"quota.{key}"])
        if most is None or cap is None:
            continue  # reported already
        floor = max((need, defaults[key]), key=lambda q: api.quantity(q) or 0)
        if most < (api.quantity(floor) or 0):
            errors.append(
                f"{_full(f'limits.{key}')}: {values[f'limits.{key}']!r} is less than {floor!r}, what an agent step or Argo's containers need"
            )
        if cap < most:
            errors.append(
                f"{_full(f'quota.{key}')}: {values[f'quota.{key}']!r} is less than {_full(f'limits.{key}')} ({values[f'limits.{key}']!r})"
            )
    return errors


def template_settings(
    namespace: str,
    *,
    bucket: str = DEFAULT_BUCKET,
    agent_image: str | None = None,
    browserless_url: str = BROWSERLESS_URL,
    litellm_url: str = LITELLM_URL,
    llm_model: str = DEFAULT_LLM_MODEL,
) -> TemplateSettings:
    """The template's settings for a platform in ``namespace`` (MinIO's), defaults as above.

    Without ``agent_image``, bundled mode: :data:`DEFAULT_AGENT_IMAGE` runs the agent's
    source (``bundle.agent_source()``, a ConfigMap); with one, that image is the agent.
    """
    store = ArtifactStore(endpoint=minio_endpoint(namespace), bucket=bucket)
    source = None if agent_image else bundle.agent_source()
    return TemplateSettings(
        store, agent_image or DEFAULT_AGENT_IMAGE, browserless_url, litellm_url, llm_model, agent_bundle=source
    )


def load(*, policy_dir: Path = bundle.POLICY_DIR, operator_dir: Path = bundle.OPERATOR_DIR) -> PlatformConfig:
    """Read and check the whole stack configuration, or raise :class:`ConfigError`."""
    errors: list[str] = []
    values, secrets = _values(errors)
    if not errors:
        _cross_checks(values, policy_dir, errors)
    if errors:
        raise ConfigError("invalid stack configuration:\n  " + "\n  ".join(errors))

    namespace, workloads = values["namespace"], tuple(values["workloadNamespaces"])
    template = template_settings(
        namespace,
        bucket=values["minio.bucket"],
        agent_image=values["template.agentImage"],
        browserless_url=values["template.browserlessUrl"],
        litellm_url=values["template.litellmUrl"],
        llm_model=values["template.llmModel"],
    )
    store = template.artifacts
    kubeconfig = values["kubernetes.kubeconfig"]
    return PlatformConfig(
        cluster=ClusterConfig(values["kubernetes.context"], str(Path(kubeconfig).expanduser()) if kubeconfig else None),
        namespace=namespace,
        workload_namespaces=workloads,
        argo=ArgoConfig(
            values["argo.namespace"], values["argo.install"], values["argo.chartVersion"], workloads, store
        ),
        minio=MinioConfig(
            namespace=namespace,
            image=values["minio.image"],
            client_image=values["minio.clientImage"],
            storage_size=values["minio.storageSize"],
            bucket=values["minio.bucket"],
            root=Credential(secrets.get("minio.rootUser"), secrets.get("minio.rootPassword")),
            tenants=workloads,
            allowed_buckets=allowed_buckets(values, policy_dir),
            retain_data=values["retain.minioData"],
        ),
        operator=OperatorConfig(
            namespace=namespace,
            workload_namespaces=workloads,
            image=values["operator.image"],
            python_image=values["operator.pythonImage"],
            opa_image=values["operator.opaImage"],
            resync_seconds=values["operator.resyncSeconds"],
            default_agent_image=template.agent_image,
            default_bucket=store.bucket,
            policy_overrides=policy_overrides(values, policy_dir),
            policy_dir=policy_dir,
            operator_dir=operator_dir,
            replicas=values["operator.replicas"],
        ),
        template=template,
        database_dsn=secrets.get("template.databaseDsn"),
        quota=QuotaConfig(
            cpu=values["quota.cpu"],
            memory=values["quota.memory"],
            ephemeral_storage=values["quota.ephemeralStorage"],
            pods=values["quota.pods"],
            max_cpu=values["limits.cpu"],
            max_memory=values["limits.memory"],
            max_ephemeral_storage=values["limits.ephemeralStorage"],
        ),
        retain_crd=values["retain.crd"],
    )
