# Two commands a new user needs: `make run` (demo shop on SQLite) and `make test` (the suite
# on PostgreSQL + Redis). Everything else here is a step of those two, plus `make lock` (refresh
# uv.lock after editing dependencies in pyproject.toml) and `make bench`.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
HOST ?= 127.0.0.1
PORT ?= 8000

# uv installs exactly what uv.lock pins (hashes checked) into $(VENV), with this Python; it
# never downloads an interpreter of its own.
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_PYTHON_DOWNLOADS := never

# The test suite talks to real services; override these to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/shop
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

# `make bench` builds throw-away databases beside this one (see README "Benchmarks").
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/shop
BENCH_CHECKOUT_ARGS ?=
BENCH_SWEEP_ARGS ?=

.PHONY: install run test lint typecheck format lock upgrade-deps bench clean

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(PY) scripts/bootstrap_uv.py
	$(UV) sync --locked --extra dev --python $(PY) --quiet
	touch $@

# The virtualenv with uv in it, at the version uv.lock pins (hashes checked).
$(UV):
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 to 3.13 is required" if not (3, 11) <= sys.version_info[:2] < (3, 14) else 0)'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) scripts/bootstrap_uv.py

install: $(VENV)/.installed

run: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports  # the app graph: [tool.importlinter] in pyproject.toml
	$(PY) scripts/typecheck.py  # mypy; only errors not in mypy-baseline.txt fail
	$(PY) scripts/audit_dependencies.py  # known vulnerabilities fail; see .pip-audit-ignore
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: install
	$(PY) scripts/typecheck.py

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# Re-resolve after a dependency was added, removed or re-ranged in pyproject.toml; versions
# that still fit stay where they are. `make upgrade-deps` moves everything to the newest allowed.
lock: | $(UV)
	$(UV) lock
	$(MAKE) install

upgrade-deps: | $(UV)
	$(UV) lock --upgrade
	$(MAKE) install

bench: install
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/checkout.py $(BENCH_CHECKOUT_ARGS)
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/sweep.py $(BENCH_SWEEP_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm .pytest_cache .ruff_cache .mypy_cache
