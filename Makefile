# caseflag: the README's commands. `make run` serves, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-deps system-deps lint-data extension bench clean

$(BIN)/caseflag: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

# Serve the API with the bundled dataset on http://127.0.0.1:8000 (gunicorn).
run: $(BIN)/caseflag
	$(BIN)/caseflag serve

$(VENV)/.test-deps: $(BIN)/caseflag pyproject.toml package-lock.json
	$(BIN)/pip install --quiet -e '.[test]'
	npm ci --no-audit --no-fund
	@touch $@

# Debian packages the tests need (Chromium). Installs with apt-get: runs as root, or with sudo.
system-deps:
	bash scripts/install-system-deps.sh

test-deps: $(VENV)/.test-deps system-deps

test: test-deps
	$(BIN)/pytest

lint-data: $(BIN)/caseflag
	$(BIN)/caseflag data lint

extension:
	bash scripts/build-extension.sh

clean:
	rm -rf $(VENV) node_modules dist test-artifacts
