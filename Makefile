# caseflag: the README's commands. `make run` serves, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-deps system-deps serve-deps lint-data release extension bench clean

$(BIN)/caseflag: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

# Serve the API with the bundled dataset on http://127.0.0.1:8000 (nginx in front of gunicorn).
run: $(BIN)/caseflag serve-deps
	$(BIN)/caseflag serve

# `caseflag serve` puts Debian's nginx in front of gunicorn, so slow clients never hold a thread.
serve-deps:
	bash scripts/apt-install-missing.sh nginx=nginx

$(VENV)/.test-deps: $(BIN)/caseflag pyproject.toml package-lock.json
	$(BIN)/pip install --quiet -e '.[test]'
	npm ci --no-audit --no-fund
	@touch $@

# Debian packages the tests need: Chromium (browser tests), Firefox ESR (tests/firefox),
# redis-server (shared-cache tests) and nginx (caseflag serve).
# Installs with apt-get only what is missing: runs as root, or with sudo.
system-deps:
	bash scripts/apt-install-missing.sh chromium=chromium firefox-esr=firefox-esr redis-server=redis-server nginx=nginx

test-deps: $(VENV)/.test-deps system-deps

test: test-deps
	$(BIN)/pytest

lint-data: $(BIN)/caseflag
	$(BIN)/caseflag data lint

# The citable data release in dist/release/ (exports, SQLite, CHANGES.md, SHA256SUMS); PREVIOUS=DIR
# compares with an earlier release folder for CHANGES.md.
release: $(BIN)/caseflag
	$(BIN)/caseflag data release -o dist/release $(if $(PREVIOUS),--previous $(PREVIOUS))
	cd dist/release && sha256sum -c --quiet SHA256SUMS

extension:
	bash scripts/build-extension.sh

$(VENV)/.bench-deps: $(BIN)/caseflag pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

# Benchmarks, not timed tests (about 5 minutes): a 60 s load run against `caseflag serve`, then
# P1-P4 as ratios measured side by side. Installs wrk and adns-tools with apt-get (root, or sudo);
# P3's DNS server listens on 127.0.0.77:53, so run as root. Results and the machine: bench/RESULTS.md.
bench: $(VENV)/.bench-deps
	bash scripts/apt-install-missing.sh wrk=wrk adnshost=adns-tools nginx=nginx redis-server=redis-server
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) node_modules dist test-artifacts
