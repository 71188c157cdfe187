# The README's two commands: `make serve` and `make test`. Both set up everything on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: serve test lint pytest openapi bench install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP) $@

install: $(STAMP)
install-test: $(TEST_STAMP)

serve: $(STAMP)
	$(BIN)/gradserve

lint: $(TEST_STAMP)
	$(BIN)/ruff check engine app tests bench

pytest: $(TEST_STAMP)
	$(BIN)/pytest

test: lint pytest

openapi: $(STAMP)
	$(BIN)/python -m app.export_openapi openapi/openapi.json

bench: $(TEST_STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/service.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
