# Two commands set up and run everything on a fresh machine:
#   make rehearsal   - the full migration rehearsal on two local clusters
#   make test        - unit and integration tests (real Kafka, Connect/MM2, Pulumi CLI)
# Both install what they need (venv, toolchain, Kafka jars) idempotently.
SHELL := /bin/bash
PY := .venv/bin/python
# The package's console script (pyproject.toml [project.scripts]), installed by `venv`.
CLI := .venv/bin/kafka-migration
# Rebuilt when the pinned requirements or the package's metadata (deps, packages, scripts) change.
VENV_STAMP := .venv/.installed-$(shell cat requirements.txt pyproject.toml | sha256sum | cut -c1-16)
PYTEST_ARGS ?=
# Test processes for `make test`/`make integration` (pytest-xdist): integration tests spend most
# of their time waiting, so two share the 2-core machine well. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --dist worksteal

.PHONY: all setup venv toolchain test test-long unit integration lint format rehearsal docker-image rehearsal-secure campaign status bench blue blue-stop clean

all: lint test

setup: venv toolchain

venv: $(VENV_STAMP)

# The pinned requirements, then this package (kafka_migration, from components/) editable,
# without resolving its dependency ranges again: requirements.txt pins them.
$(VENV_STAMP): requirements.txt pyproject.toml
	python3 -m venv .venv
	.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
	.venv/bin/pip install -q --disable-pip-version-check --no-deps -e .
	rm -f .venv/.requirements-* .venv/.installed-*
	touch $@

# The kubernetes provider plugin (the slowest build) only where something needs it:
# the test suite renders the Kubernetes runtime; the rehearsal does not.
TOOLCHAIN_EXTRAS ?=
toolchain: venv
	$(CLI) setup $(TOOLCHAIN_EXTRAS)

# Layer contracts and types (pyproject.toml): both read the tree through the repo's `kafka_migration` symlink.
lint: venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports --no-cache --no-logo
	.venv/bin/mypy -p kafka_migration

format: venv
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

test: TOOLCHAIN_EXTRAS = kubernetes docker
test: setup lint
	$(PY) -m pytest -m "not long" $(XDIST) $(PYTEST_ARGS)

# Integration runs too long for every CI run (their cheaper counterparts are in `make test`).
test-long: TOOLCHAIN_EXTRAS = kubernetes docker
test-long: setup
	$(PY) -m pytest -m long $(XDIST) $(PYTEST_ARGS)

unit: venv
	$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

integration: TOOLCHAIN_EXTRAS = kubernetes docker
integration: setup
	$(PY) -m pytest -m integration $(XDIST) $(PYTEST_ARGS)

rehearsal: setup
	$(CLI) rehearsal

# The Docker runtime's Kafka image, built into the engine at DOCKER_HOST (default: the local socket).
DOCKER_HOST ?= unix:///var/run/docker.sock
docker-image: TOOLCHAIN_EXTRAS = docker
docker-image: setup
	$(CLI) docker-image --host $(DOCKER_HOST)

# The same walk with both clusters SASL_SSL and ACLs enforced, every client its own user.
rehearsal-secure: setup
	$(CLI) rehearsal --secure --out rehearsal-report-secure

# The fault campaign: one walk per named fault (`kafka-migration rehearsal --faults NAME,...` for some).
FAULTS ?= all
campaign: setup
	$(CLI) rehearsal --faults $(FAULTS)

status: venv
	$(CLI) status --stack dev

# The dev stack's blue: a local cluster on 127.0.0.1:19092, seeded, left running.
blue: setup
	$(PY) -m kafka_migration.rehearsal.dev_blue blue start

blue-stop: venv
	$(PY) -m kafka_migration.rehearsal.dev_blue blue stop

bench: setup
	$(CLI) bench

clean:
	rm -rf .pulumi-state .local-clusters rehearsal-report rehearsal-report-secure status-report bench-results
