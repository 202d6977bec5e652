# Recours: every target makes its own virtual environment (.venv) with the
# Python found below; nothing else needs to be installed beforehand.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_CLAIMANTS ?= 200

.PHONY: run test lint check bench messages clean

$(VENV)/.python-ok:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Recours needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@touch $@

$(VENV)/.run-deps: $(VENV)/.python-ok setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e .
	@touch $@

# axe-core (accessibility checks in the browser tests) comes from the npm
# registry when npm is there; without it those checks are skipped.
AXE := $(VENV)/npm/node_modules/axe-core/axe.min.js

$(VENV)/.test-deps: $(VENV)/.run-deps
	$(BIN)/pip install --quiet -e ".[test]"
	@if command -v npm >/dev/null; then \
		npm install --silent --no-save --no-audit --no-fund --prefix $(VENV)/npm axe-core@4.14; \
	else echo "npm not found: browser accessibility checks (axe-core) will be skipped"; fi
	@touch $@

# The English catalogue is compiled from its .po (message ids are the French texts).
MO := claims/translations/en/LC_MESSAGES/messages.mo
$(MO): claims/translations/en/LC_MESSAGES/messages.po $(VENV)/.run-deps
	$(BIN)/pybabel compile --use-fuzzy -d claims/translations
	@touch $@

## run: the app on its embedded default (SQLite, local encrypted vault) with demo data
run: $(VENV)/.run-deps $(MO)
	$(BIN)/flask db upgrade
	$(BIN)/flask demo seed --if-empty --claimants $(DEMO_CLAIMANTS)
	@echo ""
	@echo "Recours: http://127.0.0.1:5000  (Ctrl+C to stop)"
	@echo "Staff console: http://127.0.0.1:5000/console/login with the accounts printed"
	@echo "above on the first run only; first sign-in asks to set up an authenticator app."
	@echo "Data, keys and files live in ./instance (remove it for a fresh demo)."
	$(BIN)/flask run --host 127.0.0.1 --port 5000

## test: install what the tests need and run the whole suite
test: $(VENV)/.test-deps $(MO)
	$(BIN)/pytest

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: lint test

## bench: every benchmark at full size (CI runs them with --quick)
bench: $(VENV)/.test-deps
	for b in benchmarks/[a-z]*.py; do $(BIN)/python -m benchmarks.$$(basename $$b .py) || exit 1; done

## messages: refresh the English catalogue after changing interface texts
messages: $(VENV)/.run-deps
	$(BIN)/pybabel extract -F claims/translations/babel.cfg -k _l -k lazy_gettext --no-location -o claims/translations/messages.pot .
	$(BIN)/pybabel update -i claims/translations/messages.pot -d claims/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
