# The two commands: `make run` (console + worker + beat on embedded defaults) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint install install-dev messages bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Links in e-mails point at the address the console really listens on.
RUN_ENV = DEBUG=$${DEBUG:-1} CONSOLE_BASE_URL=$${CONSOLE_BASE_URL:-http://$(HOST):$(PORT)}

run: install
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py load_demo_data
	$(RUN_ENV) $(BIN)/python manage.py run_console --host $(HOST) --port $(PORT)

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

messages: install-dev
	DEBUG=1 $(BIN)/python manage.py makemessages -l ja --no-obsolete --no-location -i ".venv/*" -i "var/*"
	DEBUG=1 $(BIN)/python manage.py compilemessages -l ja

clean:
	rm -rf var $(VENV)
