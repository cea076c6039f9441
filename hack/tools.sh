#!/usr/bin/env bash
# Builds the real systems the tests run against from their own Go modules, pinned.
#
#   hack/tools.sh build [TOOL...]   build what is missing (all tools by default)
#   hack/tools.sh bin               print the folder of the current tools (for PATH)
#   hack/tools.sh list              each tool, its version and whether it is built
#   hack/tools.sh pulumi-home       print the PULUMI_HOME that holds the built providers
#
# Each tool is a small wrapper module in hack/tools/<tool>/: its go.mod pins the version
# (with `tool` directives naming the commands; minio-policy's is its own main.go, over
# MinIO's policy package) and its go.sum the hashes of every module,
# so a build is reproducible from the Go module proxy alone. Builds land in a cache outside
# the work tree, one folder per tool and pin:
#   ${AGENTIC_TOOLS_CACHE:-${XDG_CACHE_HOME:-~/.cache}/agentic-platform/tools}/<tool>-<version>-<hash>/
# where <hash> covers the wrapper module's files (its own .go ones too) and the build
# flags, so changing a pin rebuilds that tool only. <cache>/bin holds links to the
# current build of every command.
#
# Pulumi's plugins go where its engine looks, so no run ever tries a download: the
# Kubernetes provider into <cache>/pulumi-home (`pulumi plugin install --file`; use it as
# PULUMI_HOME), and pulumi-python (our Python language host and dynamic-provider launcher,
# for machines without the official install: hack/tools/pulumi-python/) next to the CLI.
set -euo pipefail
shopt -s nullglob

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
CACHE=${AGENTIC_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentic-platform/tools}
BIN=$CACHE/bin
PULUMI_HOME_DIR=$CACHE/pulumi-home
export GOFLAGS="-mod=readonly -buildvcs=false -trimpath"
export GOTOOLCHAIN=local CGO_ENABLED=0

# tool | version | link flags (version stamps, so each binary reports what it is)
K8S=v1.34.4
VERSIONS=(
  "etcd|v3.6.16|"
  "kubernetes|$K8S|-X k8s.io/component-base/version.gitVersion=$K8S -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34 -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$K8S -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=34"
  "kwok|v0.8.0|"
  "argo|v4.0.5|-X github.com/argoproj/argo-workflows/v4.version=v4.0.5 -X github.com/argoproj/argo-workflows/v4.gitTreeState=clean"
  "opa|v1.22.3|"
  "pulumi|v3.274.1|-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v3.274.1"
  "pulumi-kubernetes|v4.25.0|-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=4.25.0"
  "pulumi-python|v$(sed -n 's/^pulumi==//p' "$ROOT/requirements.lock")|"
  "minio-policy|v3.1.3|"
)

log() { printf 'tools: %s\n' "$*" >&2; }

field() { # field TOOL N
  local row
  for row in "${VERSIONS[@]}"; do
    if [[ ${row%%|*} == "$1" ]]; then cut -d'|' -f"$2" <<<"$row"; return; fi
  done
  log "unknown tool $1 (known: $(names))"; exit 2
}
names() { local row; for row in "${VERSIONS[@]}"; do printf '%s ' "${row%%|*}"; done; }

dir_of() { # the cache folder of a tool's current pin
  local tool=$1 version flags hash
  version=$(field "$tool" 2) flags=$(field "$tool" 3)
  hash=$( { cat "$HERE/tools/$tool"/*; echo "$flags"; go env GOVERSION; \
            if declare -F "inputs_$tool" >/dev/null; then "inputs_$tool"; fi; \
            declare -f "prepare_$tool" "after_$tool" "make_$tool" 2>/dev/null || true; } | sha256sum | cut -c1-12)
  echo "$CACHE/$tool-$version-$hash"
}

# pulumi-kubernetes embeds a versioned copy of its schema that its release build
# generates; the module holds only schema.json. Build from a copy with that file made.
prepare_pulumi-kubernetes() {
  local work=$1 module=github.com/pulumi/pulumi-kubernetes/provider/v4 src
  (cd "$HERE/tools/pulumi-kubernetes" && go mod download "$module")
  src=$(cd "$HERE/tools/pulumi-kubernetes" && go list -m -f '{{.Dir}}' "$module")
  cp -r "$src" "$work/provider" && chmod -R u+w "$work/provider"
  python3 - "$work/provider/cmd/pulumi-resource-kubernetes" "$(field pulumi-kubernetes 2)" <<'PY'
import json, pathlib, sys
folder, version = pathlib.Path(sys.argv[1]), sys.argv[2].lstrip("v")
schema = json.loads((folder / "schema.json").read_text())
schema["version"] = version
(folder / "schema-embed.json").write_text(json.dumps(schema, separators=(",", ":")))
mapping = json.loads((folder / "terraform-mapping.json").read_text())
(folder / "terraform-mapping-embed.json").write_text(json.dumps(mapping, separators=(",", ":")))
PY
  cp "$HERE/tools/pulumi-kubernetes/go.mod" "$HERE/tools/pulumi-kubernetes/go.sum" "$work/"
  (cd "$work" && go mod edit -replace "$module=$work/provider")
  echo "-modfile=$work/go.mod"
}

# etcd's main package is the module go.etcd.io/etcd/server/v3, which go names "server".
after_etcd() { mv "$1/bin/server" "$1/bin/etcd"; }

# Argo's CRDs come from the same module as its controller (the minimal ones the chart
# installs with crds.full=false).
after_argo() {
  local out=$1 src
  src=$(cd "$HERE/tools/argo" && go list -m -f '{{.Dir}}' github.com/argoproj/argo-workflows/v4)
  mkdir -p "$out/crds" && cp "$src"/manifests/base/crds/minimal/argoproj.io_*.yaml "$out/crds/"
}

# pulumi-python is Python, not Go: a virtualenv with the SDK at requirements.lock's pins
# (the host serves the SDK's generated gRPC stubs), the host's files, and its launchers.
inputs_pulumi-python() { cat "$ROOT/requirements.lock"; }
make_pulumi-python() {
  local out=$1 src=$HERE/tools/pulumi-python python final=${1%.partial}  # built in .partial, run from final
  python=$(command -v python3) || { log "python3 is needed for pulumi-python"; exit 1; }
  "$python" -m venv "$out/venv"
  "$out/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --constraint "$ROOT/requirements.lock" "pulumi==$(field pulumi-python 2 | cut -c2-)"
  mkdir -p "$out/lib" && cp "$src/language_host.py" "$src/run_program.py" "$out/lib/"
  sed -e "s|@PYTHON@|$final/venv/bin/python|" -e "s|@LIB@|$final/lib|" "$src/pulumi-language-python.in" >"$out/bin/pulumi-language-python"
  cp "$src/pulumi-resource-pulumi-python" "$out/bin/"
  chmod +x "$out/bin/"*
}

# The engine looks for its bundled plugins (the language host, the dynamic-provider
# launcher) next to the real path of the running `pulumi`: link them there, not on PATH
# (an ambient copy on PATH that resolves elsewhere makes the engine warn on every run).
link_pulumi-python() {
  local out=$1 cli cmd
  cli=$(dir_of pulumi)
  [[ -f $cli/.complete ]] || { log "pulumi-python: build pulumi first (hack/tools.sh build pulumi)"; return; }
  for cmd in "$out"/bin/*; do ln -sfn "$cmd" "$cli/bin/$(basename "$cmd")"; done
}

# The Kubernetes provider as an installed plugin of <cache>/pulumi-home, at the version the
# Python SDK's pulumi-plugin.json asks for, so the engine never downloads it.
link_pulumi-kubernetes() {
  local out=$1 version plugin cmd
  for cmd in "$out"/bin/*; do ln -sfn "$cmd" "$BIN/$(basename "$cmd")"; done
  [[ -f $(dir_of pulumi)/.complete ]] || { log "pulumi-kubernetes: build pulumi first to install the plugin"; return; }
  version=$(field pulumi-kubernetes 2 | cut -c2-)
  plugin=$PULUMI_HOME_DIR/plugins/resource-kubernetes-v$version/pulumi-resource-kubernetes
  if ! cmp -s "$plugin" "$out/bin/pulumi-resource-kubernetes"; then
    PULUMI_HOME=$PULUMI_HOME_DIR PULUMI_SKIP_UPDATE_CHECK=true "$BIN/pulumi" plugin install resource kubernetes \
      "$version" --file "$out/bin/pulumi-resource-kubernetes" --reinstall >&2
    log "pulumi-kubernetes $version: installed as a plugin in $PULUMI_HOME_DIR"
  fi
}

build() {
  local tool=$1 out version flags work start extra="" lock
  out=$(dir_of "$tool") version=$(field "$tool" 2) flags=$(field "$tool" 3)
  mkdir -p "$CACHE"
  # One build of a tool at a time on this machine (several checkouts share the cache).
  exec {lock}>"$CACHE/.$tool.lock"
  if ! flock -n "$lock"; then
    log "$tool $version: another build of it is running; waiting for it"
    flock "$lock"
  fi
  if [[ -f $out/.complete ]]; then
    log "$tool $version: cached ($out)"
  else
    start=$(date +%s)
    log "$tool $version: building (a cold build takes minutes; progress: go downloads, then compiles)"
    work=$(mktemp -d) && rm -rf "$out.partial" && mkdir -p "$out.partial/bin"
    if declare -F "prepare_$tool" >/dev/null; then extra=$("prepare_$tool" "$work"); fi
    if declare -F "make_$tool" >/dev/null; then
      "make_$tool" "$out.partial"
    else
      (cd "$HERE/tools/$tool" && go build $extra -ldflags="-s -w $flags" -o "$out.partial/bin/" tool)
    fi
    if declare -F "after_$tool" >/dev/null; then "after_$tool" "$out.partial"; fi
    rm -rf "$work" "$out" && mv "$out.partial" "$out" && touch "$out/.complete"
    log "$tool $version: built in $(( $(date +%s) - start ))s"
    local old  # earlier pins of this tool
    for old in "$CACHE/$tool"-v*; do [[ $old == "$out" || ! -d $old ]] || rm -rf "$old"; done
  fi
  mkdir -p "$BIN"
  local cmd
  if declare -F "link_$tool" >/dev/null; then
    "link_$tool" "$out"
  else
    for cmd in "$out"/bin/*; do ln -sfn "$cmd" "$BIN/$(basename "$cmd")"; done
  fi
  if [[ -d $out/crds ]]; then ln -sfn "$out/crds" "$CACHE/$tool-crds"; fi
  exec {lock}>&-
}

case ${1:-build} in
  build)
    shift || true
    command -v go >/dev/null || { log "go is not installed: the tools are built from their Go modules (Go 1.26+)"; exit 1; }
    start=$(date +%s)
    # shellcheck disable=SC2046
    for tool in ${@:-$(names)}; do build "$tool"; done
    log "all requested tools ready in $(( $(date +%s) - start ))s; commands in $BIN"
    ;;
  bin) echo "$BIN" ;;
  pulumi-home) echo "$PULUMI_HOME_DIR" ;;
  list)
    for tool in $(names); do
      out=$(dir_of "$tool")
      printf '%-18s %-10s %s\n' "$tool" "$(field "$tool" 2)" "$([[ -f $out/.complete ]] && echo "built: $out" || echo missing)"
    done
    ;;
  *) log "usage: hack/tools.sh build [TOOL...] | bin | list | pulumi-home"; exit 2 ;;
esac
