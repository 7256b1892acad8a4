# Frontoffice: `make run` serves the CRM with demo data; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-stamp
STAMP := $(VENV)/.installed-stamp
DEMO_CUSTOMERS ?= 2000
HOST ?= 127.0.0.1
PORT ?= 8000
VAR_DIR ?= $(CURDIR)/var
export DEBUG ?= 1

.PHONY: install run serve test screenshots test-fast lint format lock migrate demo chromium clean bench bench-load bench-flat bench-sync bench-service bench-import

# What `make run` needs: the runtime versions (requirements.lock), half the size of all.
$(RUNTIME_STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	@touch $(RUNTIME_STAMP)

# Tests and tools add the development versions (requirements-dev.lock).
$(STAMP): $(RUNTIME_STAMP) requirements-dev.lock
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	@touch $(STAMP)

install: $(STAMP)

migrate: $(RUNTIME_STAMP)
	$(BIN)/python manage.py migrate --noinput

# The demo admin, then each app's demo step (its hooks): customers and staff, months of
# sales replayed through the ERP simulator, service cases; each does nothing where its data
# is already there (README: "How long the first make run takes").
demo: migrate
	$(BIN)/python manage.py demo --customers $(DEMO_CUSTOMERS) --if-empty

# Web, Celery worker and Celery beat on the embedded defaults, under supervisord
# (config/supervisord.conf): a process that dies is restarted, and the log says so
# ("exited: worker ... not expected", "spawned: 'worker'"); Ctrl-C stops all three.
run: demo
	@$(MAKE) --no-print-directory serve

# The same without migrating or seeding first.
serve: $(RUNTIME_STAMP)
	@echo "Frontoffice on http://$(HOST):$(PORT)/  (Ctrl-C stops web, worker and beat)"
	@mkdir -p $(VAR_DIR)
	@HOST=$(HOST) PORT=$(PORT) VAR_DIR=$(VAR_DIR) $(BIN)/supervisord --configuration config/supervisord.conf

# Browser tests drive Debian's Chromium; install it when missing and we may.
chromium:
	@if ! test -x /usr/bin/chromium; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; \
	  else echo "Browser tests need /usr/bin/chromium: sudo apt-get install chromium" >&2; exit 1; fi; \
	fi

test: install chromium
	$(BIN)/python manage.py makemigrations --check --dry-run --settings config.settings_test >/dev/null
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -p xdist -n 2 $(PYTEST_ARGS)

# Refresh the README's screenshots from the browser tests.
screenshots: install chromium
	SCREENSHOT_DIR=docs/screenshots $(BIN)/pytest -m browser -q

test-fast: install
	$(BIN)/pytest -m "not browser and not integration and not slow" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

# A working day under load (bench/load_day.py): builds or reuses the bench data, serves the
# app with gunicorn (2 workers), runs bench/locustfile.py headless (50 users for 5 minutes),
# then the saturation steps; writes bench/results/load-day.md and .json.
# Shorter: make bench-load BENCH_ARGS="--users 10 --run-time 60s --name load-day-short"
bench-load: install
	$(BIN)/python -m bench.load_day $(BENCH_ARGS)

# Times a fresh clone's first `make run`, step by step; writes bench/results/first-run.* and
# the README's table between its first-run markers.
bench-first-run: install
	$(BIN)/python -m bench.first_run $(BENCH_ARGS)

# The costs that must stay flat in the size of the base, at 30,000, 300,000 and 1,000,000
# customers side by side (bench/flat.py); writes bench/results/flat.* and flat/<size>.*
bench-flat: install
	$(BIN)/python -m bench.flat $(BENCH_ARGS)

bench-sync: install
	$(BIN)/python -m bench.sync $(BENCH_ARGS)

# The console's caller lookup and the case queue at 100,000 cases (bench/service.py);
# writes bench/results/service-postgres.*
bench-service: install
	$(BIN)/python -m bench.service $(BENCH_ARGS)

# The customer CSV import at 10,000, 50,000 and 100,000 rows on PostgreSQL: wall time and
# peak memory (bench/customer_import.py); writes bench/results/customer-import.*
bench-import: install
	$(BIN)/python -m bench.customer_import $(BENCH_ARGS)

# Re-resolve the exact versions from pyproject.toml: the runtime dependencies into
# requirements.lock, then the development ones on top into requirements-dev.lock.
lock:
	rm -rf var/lock-venv && $(PYTHON) -m venv var/lock-venv
	var/lock-venv/bin/python -m pip install --quiet --upgrade pip
	var/lock-venv/bin/python -c 'import tomllib; d = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(d["dependencies"]))' > var/lock-in.txt
	var/lock-venv/bin/python -c 'import tomllib; d = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(d["optional-dependencies"]["dev"]))' > var/lock-dev-in.txt
	var/lock-venv/bin/python -m pip install --quiet -r var/lock-in.txt
	var/lock-venv/bin/python -m pip freeze --exclude pip --exclude setuptools > var/lock-runtime.txt
	var/lock-venv/bin/python -m pip install --quiet -r var/lock-dev-in.txt -c var/lock-runtime.txt
	{ echo '# Exact versions of the runtime dependencies: what `make run` and the image install.'; \
	  echo '# Regenerate after changing pyproject.toml: make lock'; \
	  cat var/lock-runtime.txt; } > requirements.lock
	{ echo '# Exact versions of the development dependencies, on top of the runtime ones: what'; \
	  echo '# `make install` (and so `make test`) installs. Regenerate with: make lock'; \
	  echo '-r requirements.lock'; \
	  var/lock-venv/bin/python -m pip freeze --exclude pip --exclude setuptools | grep -vxFf var/lock-runtime.txt; } > requirements-dev.lock

clean:
	rm -rf var/broker var/celerybeat-schedule* var/staticfiles
