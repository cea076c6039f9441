"""Run a Pulumi program under mocks and record every resource it registers.

No CLI, engine or cluster: ``pulumi.runtime.set_mocks`` answers every registration. The
stock ``MockMonitor`` hands mocks the inputs but not the parent or the dependencies, so
:class:`RecordingMonitor` overrides ``RegisterResource`` (and ``ReadResource``, for
``Resource.get``) to record type, name, URN, parent URN, dependency URNs, provider and
inputs (secrets still wrapped: :func:`plain` unwraps them, :func:`is_secret` tells them
apart).

Stack config is process-global (``set_all_config``), as is the root Stack resource: both
are reset around every run. The config is also written as the stack settings file
(``Pulumi.dev.yaml`` in a temporary ``components.config.STACK_CONFIG_DIR``), where the
program learns which keys were set and which are secret. Numbers come back as floats (``replicas: 1`` -> ``1.0``).

Ref: https://www.pulumi.com/docs/iac/guides/testing/unit/
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks, rpc, settings

from components import config as platform_config
from components import network
from components.config import PROJECT
from components.generated import VALUE

# How the Pulumi wire format marks a secret value: {SIG_KEY: SECRET_SIG, "value": ...}.
_SIG_KEY = rpc._special_sig_key
_SECRET_SIG = rpc._special_secret_sig
STACK_TYPE = "pulumi:pulumi:Stack"
GENERATED_SECRET = "pulumi-python:dynamic/agentic:GeneratedSecret"


def generated(name: str) -> str:
    """The value the mocks give a generated secret: distinctive, to search for leaks."""
    return f"generated-{name}-value"


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(_SIG_KEY) == _SECRET_SIG


def plain(value: Any) -> Any:
    """``value`` with every secret wrapper replaced by what it wraps."""
    if is_secret(value):
        return plain(value["value"])
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def whole_numbers(value: Any) -> Any:
    """``value`` with every whole float (``65532.0``) an integer."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value


def outside_secrets(value: Any) -> Iterator[Any]:
    """Every scalar of ``value`` that is not inside a secret wrapper."""
    if is_secret(value):
        return
    if isinstance(value, dict):
        for item in value.values():
            yield from outside_secrets(item)
    elif isinstance(value, list):
        for item in value:
            yield from outside_secrets(item)
    else:
        yield value


@dataclass(frozen=True)
class Registered:
    """One ``RegisterResource`` call."""

    type: str
    name: str
    urn: str
    parent: str
    dependencies: tuple[str, ...]
    inputs: dict[str, Any]
    custom: bool
    provider: str  # the provider reference (``<urn>::<id>``) a custom resource goes through
    retain: bool  # retainOnDelete: `pulumi destroy` leaves it in the cluster
    read: bool = False  # ``Resource.get``: an existing object the program reads, never changes

    @property
    def manifest(self) -> dict[str, Any]:
        """The inputs as a Kubernetes manifest (secrets unwrapped)."""
        result: dict[str, Any] = plain(self.inputs)
        return result

    @property
    def as_sent(self) -> dict[str, Any]:
        """The manifest as the Kubernetes provider sends it: the mocks hand numbers back as
        floats (``replicas: 1.0``), and the provider's JSON writes a whole float64 as an integer."""
        result: dict[str, Any] = whole_numbers(self.manifest)
        return result


# What a cluster answers for the reads a program makes (``Resource.get``): type and id -> state.
API_SERVER_SLICE = {
    "addressType": "IPv4",
    "endpoints": [{"addresses": ["172.18.0.2"], "conditions": {"ready": True}}],
    "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
}
CLUSTER_OBJECTS = {(network.ENDPOINT_SLICE_TYPE, network.API_SERVER_SLICE): API_SERVER_SLICE}


class Mocks(pulumi.runtime.Mocks):
    """Resources echo their inputs; generated secrets get :func:`generated` values;
    reads of existing objects answer from :data:`CLUSTER_OBJECTS`."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.resource_id and (args.typ, args.resource_id) in CLUSTER_OBJECTS:
            return args.resource_id, dict(CLUSTER_OBJECTS[args.typ, args.resource_id])
        state = dict(args.inputs)
        if args.typ == GENERATED_SECRET:
            state[VALUE] = generated(args.name)
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


class RecordingMonitor(mocks.MockMonitor):
    """A MockMonitor that keeps every registration, with parent and dependencies."""

    def __init__(self, mocks_: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks_)
        self.registered: list[Registered] = []

    def RegisterResource(self, request: Any) -> Any:  # the gRPC method's name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != STACK_TYPE:
            self._record(
                request, response.urn, request.object, custom=bool(request.custom), retain=request.retainOnDelete
            )
        return response

    def ReadResource(self, request: Any) -> Any:  # the gRPC method's name (``Resource.get``)
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        self._record(request, response.urn, request.properties, custom=True, retain=False, read=True)
        return response

    def _record(
        self, request: Any, urn: str, properties: Any, *, custom: bool, retain: bool, read: bool = False
    ) -> None:
        self.registered.append(
            Registered(
                type=request.type,
                name=request.name,
                urn=urn,
                parent=request.parent,
                dependencies=tuple(request.dependencies),
                inputs=rpc.deserialize_properties(properties),
                custom=custom,
                provider=request.provider,
                retain=bool(retain),
                read=read,
            )
        )


@dataclass
class Run:
    """What a program registered and exported."""

    resources: list[Registered]
    exports: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registered:
        """The one resource of a type (and Kubernetes name, when given)."""
        found = [r for r in self.of_type(type_) if name is None or r.inputs.get("metadata", {}).get("name") == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def ancestors(self, resource: Registered) -> list[str]:
        """Types from the resource's parent up to the top-level component."""
        by_urn = {r.urn: r for r in self.resources}
        out, urn = [], resource.parent
        while urn in by_urn:
            out.append(by_urn[urn].type)
            urn = by_urn[urn].parent
        return out


def stack_file(values: Mapping[str, Any], secrets: Iterable[str]) -> str:
    """``Pulumi.<stack>.yaml`` as ``pulumi config set [--path] [--secret]`` would leave it."""

    def stored(value: Any, secret: bool) -> Any:
        if isinstance(value, dict):
            return {k: stored(v, secret) for k, v in value.items()}
        return {"secure": "v1:ciphertext"} if secret else value

    secret = set(secrets)
    text: str = yaml.safe_dump({"config": {f"{PROJECT}:{k}": stored(v, k in secret) for k, v in values.items()}})
    return text


def stack_config(values: Mapping[str, Any]) -> dict[str, str]:
    """``{key: value}`` as the runtime holds it: prefixed keys, JSON for non-strings."""
    return {f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


class Harness:
    """Runs programs under mocks; ``registered`` holds what the last run registered."""

    def __init__(self, config: Mapping[str, Any] | None = None, secrets: Iterable[str] = ()) -> None:
        self.config = dict(config or {})
        self.secret_keys = list(secrets)
        self.secrets = [f"{PROJECT}:{k}" for k in secrets]
        self.monitor = RecordingMonitor(Mocks())

    @property
    def registered(self) -> list[Registered]:
        return list(self.monitor.registered)

    def run(self, program: Callable[[], Any]) -> Run:
        exports: dict[str, Any] = {}
        # Pulumi's test runner drives the main thread's current event loop; async tests run
        # earlier (pytest-asyncio) close theirs and leave none, so give it a fresh one.
        asyncio.set_event_loop(asyncio.new_event_loop())
        settings.ROOT.set(None)  # a fresh Stack, so exports do not leak between runs
        pulumi.runtime.set_mocks(Mocks(), project=PROJECT, stack="dev", preview=False, monitor=self.monitor)
        pulumi.runtime.set_all_config(stack_config(self.config), secret_keys=self.secrets)
        stack_dir = Path(tempfile.mkdtemp(prefix="stack-"))
        (stack_dir / "Pulumi.dev.yaml").write_text(stack_file(self.config, self.secret_keys))
        platform_config.STACK_CONFIG_DIR, real_dir = stack_dir, platform_config.STACK_CONFIG_DIR
        try:

            @pulumi.runtime.test  # type: ignore[untyped-decorator]
            def body() -> pulumi.Output[Any]:
                program()
                stack = settings.get_root_resource()
                return pulumi.Output.from_input(getattr(stack, "outputs", {})).apply(exports.update)

            body()
        finally:
            pulumi.runtime.set_all_config({}, secret_keys=[])
            platform_config.STACK_CONFIG_DIR = real_dir
            shutil.rmtree(stack_dir)
        return Run(resources=self.registered, exports=exports)
