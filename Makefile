# Two entry points on a fresh machine: `make up` (the platform) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev
PULUMI_VERSION := 3.272.0
# The Pulumi CLI on PATH, else a pinned copy fetched into the project.
PULUMI := $(shell command -v pulumi 2>/dev/null || echo $(CURDIR)/.pulumi-cli/bin/pulumi)
# Local file backend unless the user chose one.
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi
export PULUMI_CONFIG_PASSPHRASE ?=

# The real systems the tests run against, built from their Go modules (hack/tools.sh).
TOOLS_BIN := $(shell hack/tools.sh bin)
export AGENTIC_TOOLS_BIN ?= $(TOOLS_BIN)

.PHONY: venv tools test lint typecheck unit cluster stack up preview destroy golden bench demo clean

$(VENV)/.installed: requirements.lock operator/pyproject.toml agent/pyproject.toml contract/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e ./contract -e ./operator -e ./agent
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

test: lint typecheck unit

$(PULUMI):
	mkdir -p .pulumi-cli
	curl -fsSL https://get.pulumi.com | sh -s -- --version $(PULUMI_VERSION) --install-root $(CURDIR)/.pulumi-cli --no-edit-path

.pulumi:
	mkdir -p .pulumi

stack: venv $(PULUMI) .pulumi
	$(PULUMI) stack select $(STACK) 2>/dev/null || $(PULUMI) stack init $(STACK)

up: stack
	$(PULUMI) up --stack $(STACK) --yes

preview: stack
	$(PULUMI) preview --stack $(STACK) --diff

destroy: stack
	$(PULUMI) destroy --stack $(STACK) --yes

# Rewrite the committed golden manifests (CRD, WorkflowTemplate) from the code.
golden: venv
	$(BIN)/python -m tests.golden --write

bench: venv
	$(BIN)/python -m bench

# The four agent steps on this machine against a page of testkit/agent/site (needs chromium).
demo: venv
	$(BIN)/python -m testkit.agent.demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
