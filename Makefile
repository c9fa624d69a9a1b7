# finintel — make help lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.installed-spark
DEMO := fixtures/demo
OUT ?= out

.DEFAULT_GOAL := help

.PHONY: help install run test browser java lint format bench bench-scale fixtures golden clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(SPARK_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(SPARK_STAMP)

install: $(STAMP)  ## create .venv and install finintel with its dev extra

run: $(STAMP)  ## run the main job on the bundled demo drop into out/
	$(BIN)/finintel run $(DEMO)/drop --rules rules --out $(OUT) --format json,parquet,html,csv,graphml,gexf,ftm,goaml

test: $(SPARK_STAMP) browser java  ## run the test suite (Spark tests on local[2] included)
	$(BIN)/pytest -q

browser:  ## install Debian's Chromium (when missing) for the real-browser test of report.html
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	else echo "note: no /usr/bin/chromium (apt-get install chromium): the browser tests will be skipped"; fi

java:  ## install Debian's Java 17 (when missing) for the Spark tests
	@if command -v java >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless; \
	else echo "note: no java (apt-get install openjdk-17-jre-headless): the Spark tests will be skipped"; fi

lint: $(STAMP)  ## ruff (lint + format check) and mypy
	$(BIN)/ruff check finintel tests bench
	$(BIN)/ruff format --check finintel tests bench
	$(BIN)/mypy

format: $(STAMP)  ## apply ruff formatting and safe fixes
	$(BIN)/ruff check --fix finintel tests bench
	$(BIN)/ruff format finintel tests bench

SIZES ?= 1M,3M

bench: $(STAMP)  ## benchmark against the floor and peers (SIZES=1M,3M,10M; bench/results/)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/run.py --sizes $(SIZES)

SCALE ?= 100M
PART ?= 10M

bench-scale: $(STAMP)  ## grow a store drop by drop to SCALE transfers (PART each) and time a cron run
	$(BIN)/python bench/run.py --scale $(SCALE) --part $(PART)

fixtures: $(STAMP)  ## regenerate the committed demo drop and bad-input fixtures
	$(BIN)/python fixtures/build.py

golden: $(STAMP)  ## rewrite the golden files (invalid-rule headers, demo report digests) on purpose
	$(BIN)/python tests/typology/test_loader.py --regolden
	FININTEL_REGOLDEN=1 $(BIN)/pytest -q tests/e2e/test_golden_demo.py tests/report

clean:  ## remove the virtualenv, caches and outputs
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
