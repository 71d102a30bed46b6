# The project's commands. `make run` and `make test` do all the set-up on a machine with Python, pip,
# Node/npm and git.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
export FLASK_APP := wsgi

.PHONY: run test bench lint setup assets translations browser clean e2e security faults

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(PY_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

assets: $(NPM_STAMP)
	npm run --silent assets

translations: $(PY_STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d grants/translations -D messages --statistics 2>&1 | tail -n 3

setup: $(PY_STAMP) assets translations

# Debian's chromium for the browser tests, where this user may install packages (never a downloaded browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	      (apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null)) || true; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo apt-get install -y -qq chromium || true; \
	  else echo "note: Debian's chromium is not installed and cannot be installed by this user; browser tests will be skipped"; fi; }

run: setup
	$(BIN)/flask db upgrade
	$(BIN)/flask grants seed-demo
	$(BIN)/python tools/run.py

# The fault suite restarts PostgreSQL and stops Redis: it has a target of its own (make faults).
test: setup browser
	$(BIN)/python -m pytest --ignore=tests/faults $(PYTEST_ARGS)

e2e: setup browser
	$(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

security: setup
	$(BIN)/python -m pytest tests/security $(PYTEST_ARGS)

# Needs DATABASE_URL and REDIS_URL, and restarts the local PostgreSQL and Redis.
faults: setup
	$(BIN)/python -m pytest tests/faults $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/notify.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/tallies.py
	$(BIN)/python bench/load.py

lint: $(PY_STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) node_modules grants/static/vendor instance
