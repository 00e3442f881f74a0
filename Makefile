# Every target installs what it needs into project-local folders (.tools for uv, .venv for the
# project); the system Python is only used once, to create the folder that holds uv.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := $(CURDIR)/.tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv
export UV_CACHE_DIR ?= $(TOOLS)/cache
RUN := $(UV) run --frozen --no-sync
PYTEST_ARGS ?=

.PHONY: help sync test test-slow test-reliability lint format run run-cluster run-gateway docs-env verify-dist bench bench-quick versions clean

help:
	@echo "make run | run-cluster | test | test-slow | test-reliability | lint | format | docs-env | verify-dist | bench | bench-quick | run-gateway"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) uv.lock pyproject.toml $(wildcard packages/*/pyproject.toml)
	$(UV) sync --frozen --all-packages --python $(PYTHON)
	@touch $@

sync: .venv/.synced

uv.lock: pyproject.toml $(wildcard packages/*/pyproject.toml) | $(UV)
	$(UV) lock --python $(PYTHON)

# An embedded PostgreSQL (started by services.py where none answers) listens on a Unix socket: its DSN is in a file.
TEST_PG := BETRUE_TEST_PG_DSN="$${BETRUE_TEST_PG_DSN:-$$(cat .tools/services/postgres.dsn 2>/dev/null)}"

test: sync
	$(RUN) python tools/services.py ensure
	$(TEST_PG) $(RUN) pytest -m "not slow and not soak" $(PYTEST_ARGS)

test-slow: sync
	$(RUN) python tools/services.py ensure
	$(TEST_PG) $(RUN) pytest -m "slow or soak" $(PYTEST_ARGS)

# The reliability suite, short and long tiers together, then its table (docs/reliability.md keeps the latest).
RELIABILITY_REPORT := $(CURDIR)/.tools/reliability.json
test-reliability: sync
	$(RUN) python tools/services.py ensure
	rm -f $(RELIABILITY_REPORT)
	BETRUE_RELIABILITY_REPORT=$(RELIABILITY_REPORT) $(RUN) pytest -q packages/betrue/tests/reliability -m "slow or not slow" $(PYTEST_ARGS); \
	status=$$?; $(RUN) python tools/reliability_table.py $(RELIABILITY_REPORT) || status=1; exit $$status

lint: sync
	$(RUN) python tools/versions.py check
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	@# each package's tests on their own: test modules share names (conftest) across packages
	for tests in packages/*/tests; do ls $$tests/*.py >/dev/null 2>&1 || continue; $(RUN) mypy $$tests || exit 1; done
	$(RUN) lint-imports

format: sync
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

run: sync
	$(RUN) betrue run examples.chat.app:app

run-cluster: sync
	$(RUN) python examples/chat/run_cluster.py

run-gateway: sync
	$(RUN) python examples/gateway/run.py

docs-env: sync
	$(RUN) betrue config docs examples.chat.app:app --write docs/env.md

verify-dist: sync
	rm -rf dist .tools/verify .tools/wheelhouse
	$(UV) build --all-packages --out-dir dist
	$(UV) export --frozen --all-packages --no-emit-workspace --no-dev --all-extras --no-hashes -o .tools/third-party.txt
	$(UV) venv --python $(PYTHON) .tools/wheelhouse-env
	$(UV) pip install --python .tools/wheelhouse-env/bin/python pip
	.tools/wheelhouse-env/bin/python -m pip download --quiet -r .tools/third-party.txt -d .tools/wheelhouse
	$(UV) venv --python $(PYTHON) .tools/verify
	$(UV) pip install --python .tools/verify/bin/python --no-index --no-cache --find-links dist --find-links .tools/wheelhouse betrue
	.tools/verify/bin/python -c "import betrue.config, betrue.server, betrue.static, betrue.ws, betrue.nats, betrue.postgres; print('verify-dist: ok')"

bench: sync
	$(RUN) python tools/bench/run.py --full

bench-quick: sync
	$(RUN) python tools/bench/run.py --quick

versions: sync
	$(RUN) python tools/versions.py sync

clean:
	rm -rf .venv .tools dist
