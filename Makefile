# The two commands of the README:
#   make run   - install into .venv and run the service on the embedded default (SQLite, $POSTROOM_HOME)
#   make test  - install everything the tests need (Dovecot, Postfix, Chromium: root), start the loopback
#                mail stack and run the whole suite: ruff, mypy --strict, import contracts, pytest
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install install-test run test lint servers servers-stop bench chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# An editable install leaves Postroom's own modules uncompiled: each process (the service, its
# workers and parsing children, every `postroom ingest`) would compile them again at start
# (~0.2 s of CPU) wherever bytecode is not written (PYTHONDONTWRITEBYTECODE, a read-only
# tree). compileall does what a wheel's install does.
install: $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/python -m compileall -q src

install-test: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/python -m compileall -q src

run: install
	$(BIN)/postroom db upgrade
	$(BIN)/postroom run

servers:
	tests/servers/mailstack/start

servers-stop:
	tests/servers/mailstack/stop

chromium:
	tests/browser/install-chromium

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	cd src && ../$(BIN)/lint-imports --config ../pyproject.toml

test: install-test servers chromium lint
	$(BIN)/pytest -n 2 -p no:cacheprovider
