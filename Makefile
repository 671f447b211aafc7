# Anju: every target installs what it needs itself (virtualenv, packages, FerretDB, versitygw).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
SCALE ?= 0.1
SEED ?= 42
# The targets here are development tools: unless told otherwise they run with development
# rules (an unset ANJU_ENV means production, which refuses the development defaults).
export ANJU_ENV ?= development

.PHONY: run test check schema operations city bench bench-cpu bench-compare soak demo-alarm clean install browser graphiql docs lint-schema

# The API's tools (graphql-schema-linter for `make check`, SpectaQL for `make docs`), pinned in
# tools/apidocs/package-lock.json and installed there by `npm ci` when the lock changes
# (node_modules/ is not committed; nothing is installed globally). Without npm, a root shell with
# apt-get (as on CI) installs Debian's nodejs and npm first.
APIDOCS := tools/apidocs
APIDOCS_STAMP := $(APIDOCS)/node_modules/.installed-$(shell cat $(APIDOCS)/package-lock.json | sha256sum | cut -c1-12)

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

## Runs FerretDB, the simulator and Anju with demo data, in the foreground (Ctrl-C, SIGTERM
## or SIGHUP stops all three).
run: $(STAMP)
	$(PY) -m devstack.graphiql_assets
	$(PY) -m devstack.run

## Lint, types, then the whole test suite against FerretDB (or MONGODB_URI), the simulator and
## versitygw (the S3-compatible server of the storage tests).
test: $(STAMP) check
	$(PY) -m devstack.ferretdb_build
	$(PY) -m devstack.versitygw
	$(PY) -m devstack.browser
	$(PY) -m devstack.graphiql_assets
	$(PY) -m pytest -q

$(APIDOCS_STAMP): $(APIDOCS)/package.json $(APIDOCS)/package-lock.json
	@command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing nodejs and npm with apt-get (the API's linter and reference need them)"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q nodejs npm >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null && apt-get install -y -q nodejs npm >/dev/null; }; \
	  else echo "npm is needed for the API's linter and reference: apt-get install nodejs npm"; exit 1; fi; }
	cd $(APIDOCS) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

## Lint (ruff), format, types (mypy), and the schema's linter (descriptions, Relay, naming).
check: $(STAMP) lint-schema
	$(PY) -m ruff check app sim devstack tests scripts
	$(PY) -m ruff format --check app sim devstack tests scripts
	$(PY) -m mypy

## graphql-schema-linter over schema.graphql, with the rules of
## tools/apidocs/graphql-schema-linter.config.js (which says which are off, and why).
lint-schema: $(APIDOCS_STAMP)
	$(APIDOCS)/node_modules/.bin/graphql-schema-linter --config-directory $(APIDOCS) schema.graphql

## The API reference (SpectaQL) from schema.graphql, with the role table and the error codes,
## into .build/apidocs/ (not committed); `make run` serves it at /docs.
docs: $(STAMP) $(APIDOCS_STAMP)
	$(PY) -m scripts.api_docs

## Headless Chromium for the kiosk test: apt-get installs it as root on Debian (as on CI);
## elsewhere it says how, and the kiosk test skips.
browser: $(STAMP)
	$(PY) -m devstack.browser

## GraphiQL's files (React, GraphiQL, its explorer) from npm, checked against the hashes
## Strawberry pins, into app/graphiql/vendor/ (not committed); Anju serves them itself.
graphiql: $(STAMP)
	$(PY) -m devstack.graphiql_assets

## Rewrites schema.graphql from the code.
schema: $(STAMP)
	$(PY) -m scripts.export_schema

## Rewrites app/operations/manifest.json from the .graphql files beside it (the apps' persisted
## operations) and checks each against the schema.
operations: $(STAMP)
	$(PY) -m scripts.persisted_operations

## Fills a database with the synthetic city: make city SCALE=0.1 SEED=42
city: $(STAMP)
	$(PY) -m scripts.city --scale $(SCALE) --seed $(SEED)

clean:
	rm -rf $(VENV) .build .data .dev-keys .bench .artifacts $(APIDOCS)/node_modules

## The benchmark at SCALE (default 0.1; 1 is the whole city) with WORKERS workers and CONCURRENCY
## clients (CONCURRENCY=1: CPU per request without queueing), after IDLE seconds of the idle line
## (default 60). ONLY=prefix,... runs some operations; BENCH_ARGS passes other options
## (`.venv/bin/python -m scripts.bench --help`). MONGODB_URI=... benchmarks that database instead;
## PG=postgres://user:pw@127.0.0.1:5432/db runs FerretDB on that PostgreSQL instead of SQLite.
WORKERS ?= 2
CONCURRENCY ?= 32
DURATION ?= 15
IDLE ?= 60
ONLY ?=
BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) -m devstack.ferretdb_build
	ANJU_BENCH_POSTGRESQL_URL='$(PG)' $(PY) -m scripts.bench --scale $(SCALE) --seed $(SEED) --workers $(WORKERS) --concurrency $(CONCURRENCY) --duration $(DURATION) --idle-seconds $(IDLE) $(if $(ONLY),--only '$(ONLY)',) $(BENCH_ARGS)

## Anju's CPU per request at one client against issue 25's targets (scripts/bench_request_cpu.py):
## an API-only Anju, sequential requests, the idle rate taken off (paired windows for slow ones)
bench-cpu: $(STAMP)
	$(PY) -m devstack.ferretdb_build
	$(PY) -m scripts.bench_request_cpu --scale $(if $(filter command line,$(origin SCALE)),$(SCALE),0.01) --seed $(SEED) $(if $(ONLY),--only '$(ONLY)',)

## B against A, two results of `make bench`: exit status 1 when an operation is more than 10%
## worse in throughput, p99 or CPU per request. make bench-compare A=.bench/x.json B=.bench/y.json
bench-compare: $(STAMP)
	$(PY) -m scripts.bench --compare '$(A)' '$(B)'

## A mixed load for MINUTES (default 10): errors, latency over time, each worker's memory.
## SOAK_SCALE=0.1 runs it inside the synthetic city (a copy of the benchmark's, built if missing);
## without SCALE, on a small world made through the API.
MINUTES ?= 10
SOAK_CONCURRENCY ?= 8
soak: $(STAMP)
	$(PY) -m devstack.ferretdb_build
	$(PY) -m scripts.soak --minutes $(MINUTES) --workers $(WORKERS) --concurrency $(SOAK_CONCURRENCY) $(if $(SOAK_SCALE),--scale $(SOAK_SCALE) --seed $(SEED),)

## While `make run` is up: sets off a demo smoke alarm.
demo-alarm: $(STAMP)
	$(PY) -m devstack.demo_alarm
