# Two entry points on a fresh machine: `make up` (the platform) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev
# Local file backend unless the user chose one.
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi
export PULUMI_CONFIG_PASSPHRASE ?=
export PULUMI_SKIP_UPDATE_CHECK ?= true

# The real systems the tests run against, built from their Go modules (hack/tools.sh).
TOOLS_BIN := $(shell hack/tools.sh bin)
export AGENTIC_TOOLS_BIN ?= $(TOOLS_BIN)

# The Pulumi CLI on PATH (the official install), else the one `make tools` builds, whose
# providers live in the tools' PULUMI_HOME (no plugin download is ever tried).
PULUMI := $(shell command -v pulumi 2>/dev/null || echo $(TOOLS_BIN)/pulumi)
ifeq ($(PULUMI),$(TOOLS_BIN)/pulumi)
export PULUMI_HOME ?= $(shell hack/tools.sh pulumi-home)
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION ?= true
endif

.PHONY: venv tools test lint typecheck unit cluster argo-fixtures pulumi-cli stack up preview destroy hashes golden bench demo clean

# requirements.txt: the pinned set and the project's own packages, as `pulumi install`
# installs them (toolchain pip).
# From scratch whenever a pin changes, so nothing a lock no longer lists lingers.
$(VENV)/.installed: requirements.txt requirements.lock operator/pyproject.toml agent/pyproject.toml contract/pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

venv: $(VENV)/.installed

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

tools:
	hack/tools.sh build

unit: venv tools
	$(BIN)/pytest

# The tier on the real control plane alone (also part of `make test`).
cluster: venv tools
	$(BIN)/pytest -m cluster

# Record again what Argo's controller writes at each stage (testkit/argo_fixtures/),
# which the unit tests replay (testkit/argo_sim.py) and the tier compares on every run.
argo-fixtures: venv tools
	AGENTIC_RECORD_ARGO=1 $(BIN)/pytest tests/cluster/scenarios/test_lifecycle.py -k "human or failing"

test: lint typecheck unit

# No CLI: say how to get one, rather than fail in a download.
pulumi-cli:
	@test -x "$(PULUMI)" || { \
	  echo "make: no Pulumi CLI: neither 'pulumi' on PATH nor $(PULUMI)." >&2; \
	  echo "  With internet access: install the official CLI (https://www.pulumi.com/docs/iac/download-install/)," >&2; \
	  echo "    e.g. curl -fsSL https://get.pulumi.com | sh, then run make $(MAKECMDGOALS) again." >&2; \
	  echo "  Without (Go and its module proxy only): make tools  (builds the pinned CLI, the Kubernetes" >&2; \
	  echo "    provider and a Python language host into $(dir $(TOOLS_BIN)); make $(MAKECMDGOALS) then uses them)." >&2; \
	  exit 1; }

.pulumi:
	mkdir -p .pulumi

stack: venv pulumi-cli .pulumi
	$(PULUMI) stack select $(STACK) 2>/dev/null || $(PULUMI) stack init $(STACK)

up: stack
	$(PULUMI) up --stack $(STACK) --yes

preview: stack
	$(PULUMI) preview --stack $(STACK) --diff

destroy: stack
	$(PULUMI) destroy --stack $(STACK) --yes

# Rewrite operator/requirements.hashes (the image's hash-checked pins) from operator/requirements.lock.
hashes: venv
	$(BIN)/python hack/hash-requirements.py

# Rewrite the committed golden manifests (CRD, WorkflowTemplate) from the code.
golden: venv
	$(BIN)/python -m tests.golden --write

# The emulator's benchmarks, then the real kube-apiserver's (BENCHMARKS.md names each command).
bench: venv tools
	$(BIN)/python -m bench
	$(BIN)/python -m tests.cluster.bench_apiserver --workloads 2000 --lifecycles 50 --rate 30
	$(BIN)/python -m tests.cluster.bench_apiserver --workloads 500 --lifecycles 0

# The four agent steps on this machine against a page of testkit/agent/site (needs chromium).
demo: venv
	$(BIN)/python -m testkit.agent.demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
