"""A Pulumi language host for Python programs, for machines where the official one is missing.

The Pulumi engine runs every Python program, policy pack and dynamic provider through a
``pulumi-language-python`` plugin: a gRPC ``LanguageRuntime`` server that the engine starts
with its own address as the last argument, that prints its port on stdout, and that then
runs the program in the project's virtualenv. The official host is a Go binary of the
``pulumi/pulumi`` repository (``sdk/python/cmd/pulumi-language-python``). Where it cannot be
installed (it ships with the official CLI; building it needs its own Go module, which the
module proxy here refuses), `make tools` installs this one next to the CLI it builds.

It serves the SDK's generated stubs (``pulumi.runtime.proto.language_pb2_grpc``) and does
what ``pulumi preview``/``up``/``refresh``/``destroy``, ``pulumi install`` and
``--policy-pack`` call:

- ``GetRequiredPackages``/``GetRequiredPlugins``: the resource plugins the virtualenv's
  packages declare in their ``pulumi-plugin.json`` (``pulumi_kubernetes`` says
  ``kubernetes 4.25.0``), so the engine loads the plugin it has rather than downloading.
  The virtualenv is created first if missing (``pip install -r requirements.txt``).
- ``Run``: the program in the virtualenv's interpreter through ``run_program.py``, with the
  stack config in ``PULUMI_CONFIG``/``PULUMI_CONFIG_SECRET_KEYS`` as the SDK expects;
  exit code 32 means "the program already reported its error" (the engine then bails).
- ``RunPlugin``: policy packs (``python -u -m pulumi.policy``) and plugin folders, their
  output streamed back; ``InstallDependencies``, ``About``, ``GetProgramDependencies``,
  ``GetPluginInfo``, ``Handshake`` and ``Cancel``.

Not implemented (the engine gets UNIMPLEMENTED): code generation (``GenerateProject``,
``GenerateProgram``, ``GeneratePackage``), ``Pack``, ``Link``, ``pulumi new`` prompts and
templates; the ``poetry`` and ``uv`` toolchains and the ``typechecker`` option (a clear
error); attaching a debugger; and the stack config a policy pack would read (the official
host proxies the engine to learn it; the platform's pack reads no config).

Ref: https://github.com/pulumi/pulumi/blob/master/proto/pulumi/language.proto
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

VERSION = "3.274.1-agentic.1"  # the CLI this host is installed beside, and our own revision
HERE = Path(__file__).resolve().parent
RUN_PROGRAM = HERE / "run_program.py"
BAIL = 32  # the program reported its own error: the engine should not add another
MAX_MESSAGE = 400 * 1024 * 1024  # what the engine itself allows on its gRPC channels

# Lists the packages of the interpreter it runs in that declare a Pulumi resource plugin.
_PLUGINS_SCRIPT = """
import importlib.metadata as md, json
found = []
for dist in md.distributions():
    for file in dist.files or ():
        if file.name == "pulumi-plugin.json" and len(file.parts) == 2:
            try:
                found.append({"package": dist.metadata["Name"], "version": dist.version,
                              "plugin": json.loads(file.read_text())})
            except (OSError, ValueError):
                pass
print(json.dumps(found))
"""


class HostError(Exception):
    """A request this host cannot serve; the message goes to the user."""


def _options(info: language_pb2.ProgramInfo) -> dict[str, Any]:
    return json_format.MessageToDict(info.options) if info.HasField("options") else {}


def interpreter(info: language_pb2.ProgramInfo) -> tuple[Path | None, str]:
    """(virtualenv or None, python command) for a program, from its runtime options.

    Only the ``pip`` toolchain: ``virtualenv`` relative to the project root, else
    ``PULUMI_PYTHON_CMD`` or ``python3`` (as the official host does without a virtualenv).
    """
    options = _options(info)
    toolchain = options.get("toolchain", "pip")
    if toolchain != "pip":
        raise HostError(f"toolchain {toolchain!r} is not supported by this language host (only pip)")
    if options.get("typechecker"):
        raise HostError("the typechecker option is not supported by this language host")
    virtualenv = options.get("virtualenv")
    if not virtualenv:
        return None, os.environ.get("PULUMI_PYTHON_CMD", "python3")
    path = Path(virtualenv)
    if not path.is_absolute():
        path = Path(info.root_directory or ".") / path
    return path, str(path / "bin" / "python")


def plugin_version(package_version: str) -> str | None:
    """A plugin version from a package version: ``4.25.0`` -> ``v4.25.0``; pre-releases: None.

    A pre-release package version cannot be mapped (its plugin carries a build suffix the
    package does not), so such a package is left to declare its version in the JSON.
    """
    parts = package_version.split(".")
    if not parts or not all(p.isdigit() for p in parts):
        return None
    return "v" + ".".join([*parts, "0", "0"][: max(3, len(parts))])


def packages_from(found: list[dict[str, Any]]) -> list[plugin_pb2.PackageDependency]:
    """PackageDependency messages for the ``pulumi-plugin.json`` files a scan found."""
    result = []
    for entry in found:
        plugin = entry["plugin"]
        if not plugin.get("resource", False):
            continue
        version = plugin.get("version") or plugin_version(entry["version"])
        if not version:
            continue
        name = plugin.get("name") or entry["package"].removeprefix("pulumi-").removeprefix("pulumi_")
        result.append(
            plugin_pb2.PackageDependency(
                name=name,
                kind="resource",
                version=version if version.startswith("v") else f"v{version}",
                server=plugin.get("server", ""),
            )
        )
    return result


def run_arguments(request: language_pb2.RunRequest, engine: str) -> dict[str, Any]:
    """What run_program.py needs to run one program (passed as one JSON argument)."""
    return {
        "monitor": request.monitor_address,
        "engine": engine,
        "project": request.project,
        "stack": request.stack,
        "organization": request.organization,
        "root_directory": request.info.root_directory,
        "pwd": request.pwd,
        "dry_run": request.dryRun,
        "parallel": request.parallel,
        "program": request.info.entry_point or request.program or ".",
        "args": list(request.args),
    }


def config_environment(request: language_pb2.RunRequest) -> dict[str, str]:
    """The stack config as the SDK reads it (``pulumi.runtime.get_config_env``)."""
    return {
        "PULUMI_CONFIG": json.dumps(dict(request.config)),
        "PULUMI_CONFIG_SECRET_KEYS": json.dumps(list(request.configSecretKeys)),
    }


def exit_error(code: int) -> language_pb2.RunResponse:
    if code == 0:
        return language_pb2.RunResponse()
    if code == BAIL:
        return language_pb2.RunResponse(bail=True)
    return language_pb2.RunResponse(error=f"program exited with non-zero exit code: {code}")


def _streamed(command: list[str], *, cwd: str, env: Mapping[str, str]) -> Iterator[tuple[str, bytes | int]]:
    """Run ``command``; yield ("stdout"|"stderr", chunk) as it writes, then ("exit", code)."""
    process = subprocess.Popen(command, cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chunks: queue.Queue[tuple[str, bytes]] = queue.Queue()

    def pump(name: str, stream: Any) -> None:
        for chunk in iter(lambda: stream.read1(65536), b""):
            chunks.put((name, chunk))
        chunks.put((name, b""))

    threads = [
        threading.Thread(target=pump, args=(n, s), daemon=True)
        for n, s in (("stdout", process.stdout), ("stderr", process.stderr))
    ]
    for thread in threads:
        thread.start()
    open_streams = 2
    try:
        while open_streams:
            name, chunk = chunks.get()
            if chunk:
                yield name, chunk
            else:
                open_streams -= 1
        yield "exit", process.wait()
    finally:
        if process.poll() is None:  # the engine went away mid-stream
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()


class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    def __init__(self, engine: str) -> None:
        self.engine = engine
        self._children: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    # -- virtualenv -----------------------------------------------------------------------

    def _ensure_virtualenv(self, info: language_pb2.ProgramInfo) -> str:
        """The program's interpreter; creates the virtualenv from requirements.txt if missing."""
        venv, python = interpreter(info)
        if venv is None or Path(python).exists():
            return python
        if venv.exists():
            raise HostError(f"the virtualenv option points at {venv}, which is not a virtualenv (no bin/python)")
        for _, _ in self._install(info):
            pass
        return python

    def _install(self, info: language_pb2.ProgramInfo) -> Iterator[tuple[str, bytes | int]]:
        """Create the virtualenv and install ``requirements.txt`` into it, streaming output."""
        venv, python = interpreter(info)
        root = info.root_directory or "."
        steps = []
        if venv is not None and not Path(python).exists():
            steps.append([os.environ.get("PULUMI_PYTHON_CMD", "python3"), "-m", "venv", str(venv)])
        requirements = Path(root) / "requirements.txt"
        if requirements.exists():
            steps.append([python, "-m", "pip", "install", "--disable-pip-version-check", "-r", str(requirements)])
        for step in steps:
            print(f"language host: {' '.join(step)}", file=sys.stderr, flush=True)
            for kind, value in _streamed(step, cwd=root, env=os.environ):
                if kind == "exit":
                    if value:
                        raise HostError(f"{' '.join(step)} failed with exit code {value}")
                else:
                    yield kind, value

    # -- the engine's requests --------------------------------------------------------------

    def Handshake(self, request: language_pb2.LanguageHandshakeRequest, context: Any) -> Any:
        if request.engine_address:
            self.engine = request.engine_address
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request: Any, context: Any) -> plugin_pb2.PluginInfo:
        return plugin_pb2.PluginInfo(version=VERSION)

    def _packages(self, info: language_pb2.ProgramInfo) -> list[plugin_pb2.PackageDependency]:
        python = self._ensure_virtualenv(info)
        done = subprocess.run([python, "-c", _PLUGINS_SCRIPT], capture_output=True, text=True, check=False)
        if done.returncode:
            raise HostError(f"could not list the program's packages with {python}: {done.stderr.strip()}")
        return packages_from(json.loads(done.stdout))

    def GetRequiredPackages(self, request: Any, context: Any) -> Any:
        return self._answer(
            context, lambda: language_pb2.GetRequiredPackagesResponse(packages=self._packages(request.info))
        )

    def GetRequiredPlugins(self, request: Any, context: Any) -> Any:
        def plugins() -> Any:
            found = self._packages(request.info)
            return language_pb2.GetRequiredPluginsResponse(
                plugins=[
                    plugin_pb2.PluginDependency(name=p.name, kind=p.kind, version=p.version, server=p.server)
                    for p in found
                ]
            )

        return self._answer(context, plugins)

    def Run(self, request: language_pb2.RunRequest, context: Any) -> language_pb2.RunResponse:
        try:
            python = self._ensure_virtualenv(request.info)
        except HostError as exc:
            return language_pb2.RunResponse(error=str(exc))
        if request.attach_debugger:
            return language_pb2.RunResponse(error="attaching a debugger is not supported by this language host")
        command = [python, "-u", str(RUN_PROGRAM), json.dumps(run_arguments(request, self.engine))]
        env = {**os.environ, **config_environment(request)}
        # The program writes to our stdout and stderr, which the engine shows as its output.
        process = subprocess.Popen(command, cwd=request.pwd or None, env=env)
        with self._lock:
            self._children.add(process)
        try:
            code = process.wait()
        finally:
            with self._lock:
                self._children.discard(process)
        return exit_error(code)

    def InstallDependencies(self, request: Any, context: Any) -> Iterator[Any]:
        try:
            for kind, chunk in self._install(request.info):
                yield language_pb2.InstallDependenciesResponse(**{kind: chunk})
        except HostError as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))

    def RunPlugin(self, request: language_pb2.RunPluginRequest, context: Any) -> Iterator[Any]:
        try:
            python = self._ensure_virtualenv(request.info)
        except HostError as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        if request.kind == "analyzer":  # a policy pack: the SDK's runner, in the pack's folder
            command = [python, "-u", "-m", "pulumi.policy", *request.args, request.info.program_directory]
            cwd = request.info.program_directory
        else:
            command = [python, "-u", request.info.program_directory, *request.args]
            cwd = request.pwd or request.info.program_directory
        env = {**os.environ, **dict(item.split("=", 1) for item in request.env if "=" in item)}
        for kind, value in _streamed(command, cwd=cwd, env=env):
            if kind == "exit":
                yield language_pb2.RunPluginResponse(exitcode=int(value))
            else:
                yield language_pb2.RunPluginResponse(**{kind: value})

    def About(self, request: Any, context: Any) -> Any:
        def about() -> Any:
            python = self._ensure_virtualenv(request.info)
            version = subprocess.run([python, "--version"], capture_output=True, text=True, check=False)
            return language_pb2.AboutResponse(
                executable=python, version=version.stdout.strip().removeprefix("Python "), metadata={"host": "agentic"}
            )

        return self._answer(context, about)

    def GetProgramDependencies(self, request: Any, context: Any) -> Any:
        def dependencies() -> Any:
            python = self._ensure_virtualenv(request.info)
            listed = subprocess.run(
                [python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                capture_output=True,
                text=True,
                check=True,
            )
            return language_pb2.GetProgramDependenciesResponse(
                dependencies=[
                    language_pb2.DependencyInfo(name=d["name"], version=d["version"]) for d in json.loads(listed.stdout)
                ]
            )

        return self._answer(context, dependencies)

    def Cancel(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.interrupt()
        return empty_pb2.Empty()

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _answer(context: Any, make: Any) -> Any:
        try:
            return make()
        except (HostError, subprocess.CalledProcessError) as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))

    def interrupt(self) -> None:
        """Ask running programs to stop (SIGINT, as the official host does)."""
        with self._lock:
            for process in self._children:
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)


def _engine_address(argv: list[str]) -> str:
    """The engine's address: the last argument (flags such as ``-v=9`` or ``--tracing X`` come first)."""
    positional = [a for i, a in enumerate(argv) if not a.startswith("-") and not (i and argv[i - 1] == "--tracing")]
    return positional[-1] if positional else ""


def main(argv: list[str]) -> int:
    if argv[:1] == ["--version"]:
        print(VERSION)
        return 0
    host = LanguageHost(_engine_address(argv))
    options = [("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.max_send_message_length", MAX_MESSAGE)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=options)
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(host, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)  # the engine reads this line, then dials the port

    stop = threading.Event()

    def shutdown(*_: Any) -> None:
        host.interrupt()
        stop.set()

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    parent = os.getppid()
    while not stop.wait(1.0):
        if os.getppid() != parent:  # the engine is gone without telling us
            shutdown()
    server.stop(grace=2).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
