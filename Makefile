# reviewqueue — `make run` starts the whole system; `make test` runs the suite. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Tests need a SECRET_KEY only when DATABASE_URL is set (the embedded default makes its own).
TEST_SECRET := $(or $(SECRET_KEY),tests-only-secret-key-not-for-production-0123456789)

.PHONY: run test lint format bench clean-var

$(INSTALLED): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "reviewqueue needs Python 3.12 or newer, found " + sys.version.split()[0] + ": run make PYTHON=python3.12 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/python -m reviewqueue.local

test: $(INSTALLED)
	SECRET_KEY=$(TEST_SECRET) $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SECRET_KEY=$(TEST_SECRET) $(BIN)/python manage.py makemigrations --check --dry-run

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean-var:
	@echo "This deletes the embedded database and Redis under ./var/."
	rm -rf var
