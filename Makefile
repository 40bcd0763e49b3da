# sessionstore — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8080
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install run test lint format postgres bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,embedded]"
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the package with its dev and embedded extras

run: $(STAMP) ## The main job on embedded defaults (SQLite under ./var), with a short demo
	$(BIN)/sessionstore run --host $(HOST) --port $(PORT)

postgres: ## Start the local PostgreSQL at 127.0.0.1:5432 if it is not running
	@pg_isready -q -h 127.0.0.1 -p 5432 || \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 0.2; done; \
	  echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1

test: $(STAMP) postgres ## Install, start PostgreSQL, run every test (unit, integration, e2e)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP) ## ruff, mypy --strict, import-linter layering contracts
	$(BIN)/ruff check src tests consumers benchmarks
	$(BIN)/ruff format --check src tests consumers benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests consumers benchmarks
	$(BIN)/ruff format src tests consumers benchmarks

bench: $(STAMP) postgres ## Benchmarks (figures as ratios against a baseline measured in the same run)
	$(BIN)/python -m benchmarks

clean: ## Remove the virtualenv, caches and ./var
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
