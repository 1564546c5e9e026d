# Everything a newcomer needs, from a machine that has only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test lint typecheck unit screenshots bench bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's metadata changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/trackway db upgrade
	$(BIN)/trackway serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests integrations bench
	$(BIN)/ruff format --check src tests integrations bench

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# TRACKWAY_TEST_LONG=0 skips the tests marked long (schemathesis, fuzzing,
# a server of several workers: about two minutes); CI runs them.
LONG_TESTS := $(if $(filter 0,$(TRACKWAY_TEST_LONG)),-m "not long")

unit: $(VENV)/.installed-dev
	$(BIN)/pytest $(LONG_TESTS)

test: lint typecheck unit

# Pictures of each console page for the docs; needs Debian's Chromium.
screenshots: $(VENV)/.installed-dev
	$(BIN)/python tests/console_screenshots.py docs

# Throughput, latency and memory, in one run; see bench/README.md.
# BENCH_ARGS passes flags, e.g. make bench BENCH_ARGS="--only ceiling,ingest".
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench $(BENCH_ARGS)

# The same stages at small sizes: a smoke run of under two minutes.
bench-quick: $(VENV)/.installed-dev
	$(BIN)/python -m bench --quick $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
