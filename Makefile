# The README's two commands: `make serve` and `make test`. Both set up everything on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
TS_CLIENT := openapi/clients/typescript
NODE_STAMP := $(TS_CLIENT)/node_modules/.package-lock.json

.PHONY: serve test lint pytest openapi ops-doc clients bench install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml openapi/clients/python/setup.py | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet -e openapi/clients/python
	touch $(STAMP) $@

install: $(STAMP)
install-test: $(TEST_STAMP)

serve: $(STAMP)
	$(BIN)/gradserve

lint: $(TEST_STAMP)
	$(BIN)/ruff check conftest.py engine app tests bench examples openapi/generate_clients.py
	$(BIN)/hadolint Dockerfile

pytest: $(TEST_STAMP) $(NODE_STAMP)
	$(BIN)/pytest

test: lint pytest

openapi: $(STAMP)
	$(BIN)/python -m app.export_openapi openapi/openapi.json

ops-doc: $(STAMP)
	$(BIN)/python -m app.export_ops docs/ops.md

# The TypeScript client's tools, exactly as locked; without npm its tests are skipped, not failed.
$(NODE_STAMP): $(TS_CLIENT)/package-lock.json
	@if command -v npm >/dev/null; then cd $(TS_CLIENT) && npm ci --no-audit --no-fund --silent; \
	else echo "npm not found: the TypeScript client's tests will be skipped"; fi

clients: openapi $(TEST_STAMP) $(NODE_STAMP)
	$(BIN)/python openapi/generate_clients.py

bench: $(TEST_STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/service.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis $(TS_CLIENT)/node_modules
