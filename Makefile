# Two commands: `make run` starts Andon on the embedded default, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run demo test test-lowest campaign conformance fuzz lint format install dev bench lock \
	upgrade clean

run: $(VENV)/.runtime
	$(BIN)/andon serve

demo: $(VENV)/.runtime
	$(BIN)/andon demo

# Four workers on two cores: most tests wait on a server, a git push or sshd, and the workers
# beyond two fill those waits. Since each `andon` the tests run is forked from a preloaded
# interpreter (tests/preloaded.py) the suite is bound by those waits, not the CPU: five or six
# workers measured within the run-to-run spread of four (2:31–2:58 for all three, bench/README.md
# "fresh_clone"). Whole files go to one worker (--dist loadfile), so a server a module shares
# between its tests starts once, not per worker.
TEST_WORKERS ?= 4

test: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --ignore=tests/conformance \
		-m "not campaign" $(PYTEST_ARGS)

# The campaigns: every hostile string through every field, every command through every role,
# kills at every deploy step, outages, races, and the fuzzers at their bounded budgets — the
# tests marked `campaign`, kept out of `make test` so that it stays a few minutes; .ci/run runs
# them after it. (`make fuzz` is the long, randomized run of the fuzzers alone.)
campaign: $(VENV)/.dev
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --ignore=tests/conformance \
		-m campaign $(PYTEST_ARGS)

# The real senders (Alertmanager, Buildbot, the PagerDuty clients, git over file:// and ssh://)
# against a running Andon; each is skipped, saying why, where it is not installed
# (docs/conformance.md). A module's sender and Andon are started once: one worker per file.
conformance: $(VENV)/.conformance
	$(BIN)/python -m pytest -n 2 --dist loadfile tests/conformance $(PYTEST_ARGS)

# A long, randomized campaign of the fuzz tests; Hypothesis prints the cases each one tried.
FUZZ_EXAMPLES ?= 5000
FUZZ_TESTS := tests/test_fuzz_http.py tests/test_fuzz_edge.py tests/test_fuzz_commands.py \
	tests/test_bad_input.py

fuzz: $(VENV)/.dev
	ANDON_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -n 2 -q \
		--hypothesis-show-statistics $(FUZZ_TESTS) $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

install: $(VENV)/.runtime
dev: $(VENV)/.dev

bench: $(VENV)/.dev
	$(BIN)/python bench/slash_ack.py
	$(BIN)/python bench/ci_ingest.py
	$(BIN)/python bench/gate.py
	$(BIN)/python bench/deploy.py
	$(BIN)/python bench/alerts.py
	$(BIN)/python bench/digest.py
	$(BIN)/python bench/bodies.py
	$(BIN)/python bench/fresh_clone.py
	$(BIN)/python bench/fleet.py
	$(BIN)/python bench/replicas.py
	$(BIN)/python bench/flags.py

# The dependencies are locked (uv.lock, every package at one version, extras too): `make run` and
# `make test` install exactly that set, whatever PyPI published since. uv installs it in seconds
# where pip takes a minute: the machine's own uv when it has one, else uv is put into the
# virtualenv itself (from PyPI, by pip), so nothing outside the checkout changes; `make UV=…`
# names another. `--inexact` keeps what another target added (the dev tools stay when `make run`
# re-syncs). For the tests, bytecode is compiled once at install: otherwise the first test run's
# servers and CLI runs, starting together, compile the same modules side by side before any cache
# is written (`make run` compiles only what it imports, as it imports it). `make lock` re-resolves after pyproject.toml changes; `make upgrade` moves every
# package to its newest allowed version (docs/operations.md).
UV ?= $(or $(shell command -v uv 2>/dev/null),$(BIN)/uv)
SYNC = UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --inexact --quiet --python $(BIN)/python

$(BIN)/python:
	$(if $(filter $(BIN)/uv,$(UV)),$(PYTHON) -m venv,$(UV) venv --quiet --python $(PYTHON)) $(VENV)

$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv

$(VENV)/.runtime: pyproject.toml uv.lock | $(UV) $(BIN)/python
	$(SYNC)
	touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(SYNC) --compile-bytecode --extra dev
	$(BIN)/python -m compileall -q bot core storage tests
	touch $@

$(VENV)/.conformance: $(VENV)/.dev
	$(SYNC) --compile-bytecode --extra dev --extra conformance
	touch $@

lock: | $(UV)
	$(UV) lock

upgrade: | $(UV)
	$(UV) lock --upgrade

# The floors in pyproject.toml are true: a virtualenv of its own with every direct dependency
# at the lowest version pyproject.toml allows (their own dependencies at the newest), then the
# same suite as `make test`. .ci/run runs it after `make test`. It starts every `andon` the tests
# run as a new interpreter (`make test` forks them from one that imported Andon already,
# tests/preloaded.py), so the console script's own start is exercised on every CI run.
LOWEST ?= .venv-lowest

test-lowest: $(LOWEST)/.installed
	TESTS_COLD_START=1 $(LOWEST)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile --ignore=tests/conformance \
		-m "not campaign" $(PYTEST_ARGS)

$(LOWEST)/.installed: pyproject.toml | $(UV)
	rm -rf $(LOWEST)
	$(UV) venv --quiet --python $(PYTHON) $(LOWEST)
	$(UV) pip install --quiet --compile-bytecode --python $(LOWEST)/bin/python \
		--resolution lowest-direct -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) $(LOWEST) .pytest_cache .ruff_cache
