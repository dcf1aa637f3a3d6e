# Two commands: `make run` (set up everything, start the app) and `make test`
# (set up everything, run the tests). Both work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Use the shared mirror when it exists; otherwise download from the portal.
MIRROR ?= $(wildcard ../shared/data)
HOST ?= 127.0.0.1
PORT ?= 8501
export MPLCONFIGDIR := $(CURDIR)/.cache/matplotlib
export XDG_CACHE_HOME := $(CURDIR)/.cache
# Python writes each module's bytecode on its first import (a shell with PYTHONDONTWRITEBYTECODE=1
# would compile geopandas, pandas and scipy again in every process: 3.6 s instead of 1.0 s for geopandas)
unexport PYTHONDONTWRITEBYTECODE

LINTED := geo app_pages tools tests bench app.py
# One pytest worker per core (at most 4), each taking whole test files.
PYTEST_PARALLEL := -n auto --maxprocesses 4 --dist loadfile

.PHONY: run test test-fast setup setup-dev venv venv-dev data assets browser lint bench clean help

help:
	@echo "make run       - set up and start the app on http://$(HOST):$(PORT)"
	@echo "make test      - set up everything, lint, and run every test (browser included)"
	@echo "make test-fast - the library and app tests without the browser and slow marks"
	@echo "make lint      - ruff (check and format), mypy, import contracts, layout rules"
	@echo "make bench     - run the benchmarks in bench/"

# uv installs the same pinned constraints as pip in a fraction of the time (bench: 5 s against ~36 s
# for requirements.txt). It and its download cache live outside the clone, in $(TOOLS_HOME), so the
# next clone reuses both. Where uv cannot be had (PyPI unreachable), pip does the same work.
TOOLS_HOME ?= $(HOME)/.cache/cmpd-hotspots
UV_VERSION := 0.13.9
UV := $(TOOLS_HOME)/uv-$(UV_VERSION)/bin/uv
export UV_CACHE_DIR ?= $(TOOLS_HOME)/uv-cache
# $(call install,FILE): the packages of a requirements file, pinned by constraints.txt (pip if uv fails)
install = if [ -x $(UV) ] && $(UV) pip install -q --python $(BIN)/python -r $(1) -c constraints.txt; then :; \
	else $(BIN)/python -m pip install -q -r $(1) -c constraints.txt; fi

$(UV):
	@$(PYTHON) -m venv $(TOOLS_HOME)/uv-$(UV_VERSION) && $(TOOLS_HOME)/uv-$(UV_VERSION)/bin/python -m pip install -q uv==$(UV_VERSION) \
		|| { rm -rf $(TOOLS_HOME)/uv-$(UV_VERSION); echo "uv is not available: pip installs the packages (slower)"; }

$(BIN)/python:
	@$(MAKE) --no-print-directory $(UV) || true
	if [ -x $(UV) ] && $(UV) venv -q --seed --python $(PYTHON) $(VENV); then :; else $(PYTHON) -m venv --clear $(VENV); fi

# The app's packages (make run) and, on top, the tests' and tools' (make test).
$(VENV)/.installed: requirements.txt constraints.txt | $(BIN)/python
	$(call install,requirements.txt)
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(call install,requirements-dev.txt)
	touch $@

venv: $(VENV)/.installed

venv-dev: $(VENV)/.installed-dev

data: venv
ifneq ($(MIRROR),)
	$(BIN)/python -m geo fetch --mirror $(MIRROR) --quiet
else
	$(BIN)/python -m geo fetch --quiet || echo "warning: the portal download is incomplete (see the error above); the app starts with what arrived. Get the rest with: $(BIN)/python -m geo fetch (or --mirror DIR)"
endif

assets: venv
	@command -v npm >/dev/null 2>&1 || { echo "installing npm (map assets come from the npm registry)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	$(BIN)/python tools/vendor_assets.py

browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| { echo "could not install chromium (need root and Debian's package registry)"; exit 1; }; \
	fi
	@if ! command -v ogrinfo >/dev/null 2>&1; then \
		echo "installing Debian's gdal-bin (ogrinfo) for the export round-trip tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gdal-bin >/dev/null) \
		|| { echo "could not install gdal-bin (need root and Debian's package registry)"; exit 1; }; \
	fi
	@if ! command -v pdftotext >/dev/null 2>&1; then \
		echo "installing Debian's poppler-utils (pdftotext) for the report tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null) \
		|| { echo "could not install poppler-utils (need root and Debian's package registry)"; exit 1; }; \
	fi

setup: venv data assets

setup-dev: venv-dev data assets

run: setup
	$(BIN)/python tools/serve.py --server.address $(HOST) --server.port $(PORT) --server.headless true \
		--server.enableStaticServing true --browser.gatherUsageStats false

test: setup-dev browser lint
	REQUIRE_BROWSER_TESTS=1 $(BIN)/python -m pytest -q $(PYTEST_PARALLEL)

test-fast: setup-dev
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL) -m "not browser and not slow"

lint: venv-dev
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python tools/check_layout.py

bench: setup-dev
	$(BIN)/python bench/bench_all.py

clean:
	rm -rf data/raw data/cache static/vendor artifacts .cache .pytest_cache
