"""Our Python language host (hack/tools/pulumi-python/), without the engine.

The cluster tier runs it under the real CLI; these check its pure parts and that, started
the way the engine starts it, it serves the LanguageRuntime service: the resource plugins
this project's virtualenv declares come back as the engine expects them.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import language_pb2, language_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
HOST = ROOT / "hack" / "tools" / "pulumi-python" / "language_host.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("language_host", HOST)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


host = _load()


def program(options: dict[str, str]) -> language_pb2.ProgramInfo:
    struct = struct_pb2.Struct()
    struct.update(options)
    return language_pb2.ProgramInfo(
        root_directory=str(ROOT), program_directory=str(ROOT), entry_point=".", options=struct
    )


@pytest.mark.parametrize(
    ("package", "plugin"), [("4.25.0", "v4.25.0"), ("1.2", "v1.2.0"), ("3.31.0a1605189729", None), ("1.0.post1", None)]
)
def test_a_package_version_maps_to_a_plugin_version_or_to_none(package: str, plugin: str | None) -> None:
    assert host.plugin_version(package) == plugin


def test_only_resource_plugins_are_required_with_the_version_their_json_names() -> None:
    found = [
        {
            "package": "pulumi_kubernetes",
            "version": "4.25.0",
            "plugin": {"resource": True, "name": "kubernetes", "version": "4.25.0"},
        },
        {"package": "pulumi_policy", "version": "1.21.0", "plugin": {"resource": False}},
        {"package": "pulumi-foo", "version": "2.0", "plugin": {"resource": True, "server": "https://example.com"}},
    ]
    packages = host.packages_from(found)
    assert [(p.name, p.version, p.kind, p.server) for p in packages] == [
        ("kubernetes", "v4.25.0", "resource", ""),
        ("foo", "v2.0.0", "resource", "https://example.com"),
    ]


def test_the_engine_address_is_the_last_argument() -> None:
    assert host._engine_address(["-v=9", "--logtostderr", "--tracing", "file:/x", "127.0.0.1:4567"]) == "127.0.0.1:4567"


@pytest.mark.parametrize(
    ("code", "error", "bail"), [(0, "", False), (32, "", True), (1, "program exited with non-zero exit code: 1", False)]
)
def test_exit_codes_become_run_responses(code: int, error: str, bail: bool) -> None:
    response = host.exit_error(code)
    assert (response.error, response.bail) == (error, bail)


def test_config_reaches_the_program_as_the_sdk_reads_it() -> None:
    request = language_pb2.RunRequest(config={"p:a": "1"}, configSecretKeys=["p:a"])
    assert host.config_environment(request) == {"PULUMI_CONFIG": '{"p:a": "1"}', "PULUMI_CONFIG_SECRET_KEYS": '["p:a"]'}


@pytest.mark.parametrize("options", [{"toolchain": "poetry"}, {"toolchain": "uv"}, {"typechecker": "mypy"}])
def test_what_it_does_not_implement_is_a_clear_error(options: dict[str, str]) -> None:
    with pytest.raises(host.HostError, match="not supported by this language host"):
        host.interpreter(program(options))


@pytest.fixture(scope="module")
def served() -> Iterator[language_pb2_grpc.LanguageRuntimeStub]:
    """The host as the engine starts it: engine address last, port on the first line."""
    process = subprocess.Popen([sys.executable, "-u", str(HOST), "127.0.0.1:1"], stdout=subprocess.PIPE, cwd=ROOT)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield language_pb2_grpc.LanguageRuntimeStub(channel)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_served_it_names_the_providers_of_this_projects_virtualenv(
    served: language_pb2_grpc.LanguageRuntimeStub,
) -> None:
    """What the engine asks before every preview: the answer decides which plugin it loads."""
    answer = served.GetRequiredPackages(language_pb2.GetRequiredPackagesRequest(info=program({"virtualenv": ".venv"})))
    assert [(p.name, p.version) for p in answer.packages] == [("kubernetes", "v4.25.0")]
    assert served.GetPluginInfo(empty_pb2.Empty()).version == host.VERSION


def test_served_it_refuses_what_it_does_not_implement(served: language_pb2_grpc.LanguageRuntimeStub) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        served.Pack(language_pb2.PackRequest(package_directory=str(ROOT), destination_directory=str(ROOT)))
    assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_a_missing_virtualenv_is_made_from_requirements_txt(tmp_path: Path) -> None:
    """What a plain `pulumi preview` on a fresh checkout does (toolchain pip): the host makes
    the virtualenv from requirements.txt before it asks it for plugins."""
    package = tmp_path / "fakepkg"
    (package / "fakeprovider").mkdir(parents=True)
    (package / "fakeprovider" / "__init__.py").write_text("")
    (package / "fakeprovider" / "pulumi-plugin.json").write_text(
        '{"resource": true, "name": "fake", "version": "1.2.3"}'
    )
    (package / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "fakeprovider"\nversion = "1.2.3"\n'
        '[tool.setuptools.package-data]\nfakeprovider = ["pulumi-plugin.json"]\n'
    )
    (tmp_path / "requirements.txt").write_text("./fakepkg\n")
    info = language_pb2.ProgramInfo(root_directory=str(tmp_path), program_directory=str(tmp_path), entry_point=".")
    info.options.update({"toolchain": "pip", "virtualenv": ".venv"})
    packages = host.LanguageHost("")._packages(info)
    assert (tmp_path / ".venv" / "bin" / "python").exists()
    assert [(p.name, p.version) for p in packages] == [("fake", "v1.2.3")]
