# reviewqueue — `make run` starts the whole system; `make test` runs the suite. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Tests need a SECRET_KEY only when DATABASE_URL is set (the embedded default makes its own).
TEST_SECRET := $(or $(SECRET_KEY),tests-only-secret-key-not-for-production-0123456789)

.PHONY: run test test-faults bench-scale soak lint format bench clean-var

$(INSTALLED): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "reviewqueue needs Python 3.12 or newer, found " + sys.version.split()[0] + ": run make PYTHON=python3.12 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/python -m reviewqueue.local

# Everything but the long fault and scale runs (marked slow), which have their own targets below.
# bin/ensure-chromium installs Debian's Chromium for the browser tests when it is missing (README).
test: $(INSTALLED)
	bin/ensure-chromium
	SECRET_KEY=$(TEST_SECRET) $(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# The whole fault suite: with real processes, sandbox errors and stalls, killed workers, Redis and PostgreSQL
# restarts (those are marked slow); and each fault found on the way reproduced in process (make test runs those).
test-faults: $(INSTALLED)
	SECRET_KEY=$(TEST_SECRET) $(BIN)/python -m pytest tests/faults $(PYTEST_ARGS)

# The full flow at scale, 1 then 4 workers (DRAFTS=500 to try it small).
bench-scale: $(INSTALLED)
	SECRET_KEY=$(TEST_SECRET) $(BIN)/python bench/scale.py $(if $(DRAFTS),--drafts $(DRAFTS))

# The soak under faults: drafts decided while workers, Redis, PostgreSQL and the sandboxes fail; table in
# bench/RELIABILITY.md (SOAK_ARGS=--quick for 1,000 drafts in 5 minutes).
soak: $(INSTALLED)
	SECRET_KEY=$(TEST_SECRET) $(BIN)/python bench/soak.py $(SOAK_ARGS)

# Every benchmark in bench/, one table in bench/RESULTS.md (BENCH_ARGS=--quick to try it small).
bench: $(INSTALLED)
	SECRET_KEY=$(TEST_SECRET) bench/run $(BENCH_ARGS)

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
