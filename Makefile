# The whole setup is `make run` (site with demo data) and `make test` (the test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed-requirements

.PHONY: run test lint check bench install browser clean

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

install: $(STAMP)

## Set up, load the demo incidents and serve the site at http://localhost:$(PORT)/
run: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py load_demo --users
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(PORT)

## Run the whole test suite (browser tests use Debian's chromium, installed if possible)
test: install browser
	$(BIN)/pytest

browser:
	@scripts/ensure-chromium

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: install
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	  ALLOWED_HOSTS=blast-radius.example SECURE_SSL_REDIRECT=1 SECURE_HSTS_SECONDS=31536000 \
	  SECURE_HSTS_INCLUDE_SUBDOMAINS=1 SECURE_HSTS_PRELOAD=1 \
	  $(BIN)/python manage.py check --deploy --fail-level WARNING

## Relevance and speed benchmarks (speed needs DATABASE_URL to name a PostgreSQL server)
bench: install
	$(BIN)/python benchmarks/relevance.py
	$(BIN)/python benchmarks/speed.py
	$(BIN)/python benchmarks/trace_import.py
	$(BIN)/python benchmarks/controls.py
	$(BIN)/python benchmarks/dashboard.py
	$(BIN)/python benchmarks/open_data.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
