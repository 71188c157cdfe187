# The README's two commands: `make serve` and `make test`. Both set up everything on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
TS_CLIENT := openapi/clients/typescript
# the hand-written part of the Python client (the rest is generated and checked against the document instead)
PY_LAYER := $(addprefix openapi/clients/python/src/gradserve_client/,tensors.py problems.py calls.py gradserve.py aio.py)
NODE_STAMP := $(TS_CLIENT)/node_modules/.package-lock.json

.PHONY: serve test lint pytest openapi ops-doc clients bench install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml openapi/clients/python/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet -e openapi/clients/python
	touch $(STAMP) $@

install: $(STAMP)
install-test: $(TEST_STAMP)

serve: $(STAMP)
	$(BIN)/gradserve

lint: $(TEST_STAMP)
	$(BIN)/ruff check conftest.py engine app tests bench examples openapi/generate_clients.py $(PY_LAYER)
	$(BIN)/mypy -p engine  # strict, as pyproject.toml sets it
	$(BIN)/mypy --strict examples/*.py
	cd openapi/clients/python/src && ../../../../$(BIN)/mypy --strict $(subst openapi/clients/python/src/,,$(PY_LAYER))
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
	$(BIN)/python bench/sessions.py
	$(BIN)/python bench/derivatives.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis $(TS_CLIENT)/node_modules
