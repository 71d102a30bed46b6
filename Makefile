# The project's commands. `make run` and `make test` do all the set-up on a machine with Python, pip,
# Node/npm and git.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
NPM_STAMP := node_modules/.installed
export FLASK_APP := wsgi

.PHONY: run test bench lint setup setup-run assets translations catalogues browser clean e2e security faults mutation

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Two sets of Python packages: what the app and its demo need (`make run`), and that plus the test tools (`make
# test`, which also satisfies `make run`). The test tools (Playwright, schemathesis, hypothesis, ...) are half of
# the install: leaving them out lets `make run` serve its first page sooner on a new checkout.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[demo]"
	touch $@

$(PY_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(RUN_STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Assets and catalogues are rebuilt only when their sources change, so a run never rewrites a file that a
# running app (or a test suite in progress) may be reading.
ASSETS_STAMP := grants/static/vendor/.copied
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard grants/translations/*/LC_MESSAGES/messages.po))

# The app's own static files: a change to one makes new fingerprinted copies (grants/static_files.py).
OWN_STATIC := $(wildcard grants/static/css/*.css grants/static/js/*.js)

$(ASSETS_STAMP): $(NPM_STAMP) tools/copy-assets.mjs $(OWN_STATIC) | $(RUN_STAMP)
	npm run --silent assets
	$(BIN)/flask digest clean >/dev/null
	$(BIN)/flask digest compile >/dev/null
	touch $@

assets: $(ASSETS_STAMP)

%.mo: %.po | $(RUN_STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ --statistics 2>&1 | tail -n 1

translations: $(CATALOGUES)

# After adding or changing a text: find every message in the source (the template folders starting with "_", such
# as templates/_macros, included: pybabel skips those unless told otherwise) and bring the catalogues up to date.
# tests/unit/test_translations.py extracts the same way and fails on any message left untranslated in nb or nn.
EXTRACT_IGNORE := .* node_modules
catalogues: | $(RUN_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --ignore-dirs="$(EXTRACT_IGNORE)" \
		-o grants/translations/messages.pot .
	$(BIN)/pybabel update -i grants/translations/messages.pot -d grants/translations --no-fuzzy-matching

setup: $(PY_STAMP) assets translations

setup-run: $(RUN_STAMP) assets translations

# Debian's chromium for the browser tests, where this user may install packages (never a downloaded browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	      (apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null)) || true; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo apt-get install -y -qq chromium || true; \
	  else echo "note: Debian's chromium is not installed and cannot be installed by this user; browser tests will be skipped"; fi; }

run: setup-run
	$(BIN)/flask db upgrade
	$(BIN)/flask grants seed-demo
	$(BIN)/python tools/run.py

# The fault suite restarts PostgreSQL and stops Redis: it has a target of its own (make faults).
# PYTEST_STATUS_FILE (set by .ci/run) receives pytest's own exit status: make turns every failure into 2, and
# CI must tell "no tests collected" (5) apart.
test: setup browser
	@status=0; $(BIN)/python -m pytest --ignore=tests/faults $(PYTEST_ARGS) || status=$$?; \
	  if [ -n "$$PYTEST_STATUS_FILE" ]; then echo $$status > "$$PYTEST_STATUS_FILE"; fi; exit $$status

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
	$(BIN)/python bench/start.py
	$(BIN)/python bench/release.py
	$(BIN)/python bench/throttle.py
	$(BIN)/python bench/request_cost.py
	$(BIN)/python bench/crawl.py

# Mutation testing of the domain core ([tool.mutmut] in pyproject.toml); not part of `make test`. It starts afresh
# (mutmut would otherwise keep earlier verdicts and not see what a new test kills), runs on SQLite with one worker,
# then prints the score and fails on any survivor that mutation-survivors.md does not explain.
MUTMUT_CHILDREN ?= 1
mutation: setup
	rm -rf mutants
	env -u DATABASE_URL -u REDIS_URL nice -n 10 $(BIN)/mutmut run --max-children $(MUTMUT_CHILDREN)
	$(BIN)/python tools/mutation_score.py --survivors mutation-survivors.md --fail-under 90

lint: $(PY_STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) node_modules grants/static/vendor instance
