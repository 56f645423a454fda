# Every target creates .venv and installs the project into it when needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo serve test test-fast lint format bench clean screenshots

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Set up the SQLite database with demo data (idempotent) and serve it with granian.
demo: install
	$(BIN)/madoguchi migrate --noinput -v 0
	$(BIN)/madoguchi demo load --base-url http://$(HOST):$(PORT)
	MADOGUCHI_DEBUG=0 $(BIN)/madoguchi serve --with-worker --host $(HOST) --port $(PORT)

# Screenshots of every journey at 360 and 1280 px into var/screenshots/ (a throwaway demo
# database, served on a free loopback port; needs /usr/bin/chromium).
screenshots: install
	$(BIN)/python scripts/screenshots.py

# The whole suite (browser tests skip with a reason when /usr/bin/chromium is missing).
test: install
	MADOGUCHI_ENV=test $(BIN)/pytest -n auto

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix src tests bench scripts
	$(BIN)/ruff format src tests bench scripts

clean:
	rm -rf var/test*.sqlite3* .pytest_cache .mypy_cache .ruff_cache
