# Two commands: `make run` starts Andon on the embedded default, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run demo test campaign conformance fuzz lint format install dev bench clean

run: $(VENV)/.runtime
	$(BIN)/andon serve

demo: $(VENV)/.runtime
	$(BIN)/andon demo

# Three workers on two cores: most tests wait on a server, a git push or sshd, and a third worker
# fills those waits. Whole files go to one worker (--dist loadfile), so a server a module shares
# between its tests starts once, not once per worker.
TEST_WORKERS ?= 3

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

# uv installs in seconds what pip takes half a minute to: it is put into the virtualenv itself
# (from PyPI, as pip would fetch anything), so nothing outside the checkout changes. Bytecode is
# compiled once at install: otherwise the first test run's servers and CLI runs, starting
# together, compile the same modules side by side before any cache is written.
INSTALL = $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python

$(VENV)/.runtime: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet uv
	$(INSTALL) -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(INSTALL) -e '.[dev]'
	$(BIN)/python -m compileall -q bot core storage tests
	touch $@

$(VENV)/.conformance: $(VENV)/.dev
	$(INSTALL) -e '.[dev,conformance]'
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
