# Two commands set up and run everything on a fresh machine:
#   make rehearsal   - the full migration rehearsal on two local clusters
#   make test        - unit and integration tests (real Kafka, Connect/MM2, Pulumi CLI)
# Both install what they need (venv, toolchain, Kafka jars) idempotently.
SHELL := /bin/bash
PY := .venv/bin/python
VENV_STAMP := .venv/.requirements-$(shell sha256sum requirements.txt | cut -c1-16)
PYTEST_ARGS ?=

.PHONY: all setup venv toolchain test unit integration lint format rehearsal campaign status bench blue blue-stop clean

all: lint test

setup: venv toolchain

venv: $(VENV_STAMP)

$(VENV_STAMP): requirements.txt
	python3 -m venv .venv
	.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
	rm -f .venv/.requirements-*
	touch $@

# The kubernetes provider plugin (the slowest build) only where something needs it:
# the test suite renders the Kubernetes runtime; the rehearsal does not.
TOOLCHAIN_EXTRAS ?=
toolchain:
	toolchain/setup.sh $(TOOLCHAIN_EXTRAS)

lint: venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format: venv
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

test: TOOLCHAIN_EXTRAS = kubernetes
test: setup lint
	$(PY) -m pytest $(PYTEST_ARGS)

unit: venv
	$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

integration: TOOLCHAIN_EXTRAS = kubernetes
integration: setup
	$(PY) -m pytest -m integration $(PYTEST_ARGS)

rehearsal: setup
	$(PY) -m rehearsal

# The fault campaign: one walk per named fault (`python -m rehearsal --faults NAME,...` for some).
FAULTS ?= all
campaign: setup
	$(PY) -m rehearsal --faults $(FAULTS)

status: venv
	$(PY) -m status --stack dev

# The dev stack's blue: a local cluster on 127.0.0.1:19092, seeded, left running.
blue: setup
	$(PY) -m local_runtime blue start

blue-stop: venv
	$(PY) -m local_runtime blue stop

bench: setup
	$(PY) -m bench

clean:
	rm -rf .pulumi-state .local-clusters rehearsal-report status-report bench-results
