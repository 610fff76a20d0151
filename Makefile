# The README's commands. `make run` runs the product, `make test` runs the whole suite,
# `make serve` runs it in production against your own PostgreSQL and Redis.
PYTHON ?= python3
# `make test` installs the packages and chromium side by side (they wait on different servers).
MAKEFLAGS += --jobs=2
# Some machines set it; every test process would then compile the app and rewrite the tests'
# asserts again instead of reading them from __pycache__.
unexport PYTHONDONTWRITEBYTECODE
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install run serve test lint browser bench

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: install
	$(PY) -m app.launcher

# Production on one machine: your own DATABASE_URL and REDIS_URL, COURSECOVE_ENV=production
# (real SECRET_KEY and APP_DB_PASSWORD required), the same gunicorn + worker + beat, no demo.
# See docs/deployment.md.
serve: install
	$(PY) -m app.launcher --serve

# Browser tests drive Debian's chromium; install the package when it is missing (never a
# downloaded browser build).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: run 'sudo apt-get install chromium' for the browser tests"; fi; }

# The whole suite once at the run's instant, then the time-sensitive tests at fixed instants
# (DST changes, a year end, a leap day, ...): see docs/testing.md.
test: install browser
	$(PY) -m pytest -n 2 --dist worksteal
	$(PY) -m tests.run_at_instants

lint: install
	$(VENV)/bin/ruff check app tests bench config.py celery_worker.py
	$(VENV)/bin/ruff format --check app tests bench config.py celery_worker.py

bench: install
	$(PY) bench/availability.py
	$(PY) bench/webhooks.py
	$(PY) bench/ical.py
	$(PY) bench/reminders.py
	$(PY) bench/faults.py
	$(PY) bench/load.py
