# One entry point for people and CI. Needs Python 3.11+ and Node.js 18+ (npm) on the machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve demo test lint bench install clean

ASSETS := src/healthcode/web/static/dist/versions.json

$(STAMP): pyproject.toml $(ASSETS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The pages' web assets: npm packages pinned by package-lock.json, copied into the Python
# package (src/healthcode/web/static/dist/, ignored by git) by scripts/build_assets.mjs.
$(ASSETS): package.json package-lock.json scripts/build_assets.mjs
	npm ci
	npm run build

install: $(STAMP)

# The main job on its embedded default: the whole network in one process, on SQLite.
serve: $(STAMP)
	$(BIN)/healthcode serve var/network

# Explain the colour of a bundled sample person.
demo: $(STAMP)
	$(BIN)/healthcode rules explain --facts examples/facts-close-contact.json --at 2022-11-20T09:00:00+08:00

test: $(STAMP)
	$(BIN)/pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# The headline benchmarks, one after another (the hub ones need the local PostgreSQL); the
# diagnostic ones (breakdowns, instruction counts, fast-path shares) are run by hand: bench/README.md.
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.certlogic_bench
	$(BIN)/python -m bench.rules_bench
	$(BIN)/python bench/native_bench.py --seconds 3 --codes 100
	$(BIN)/python bench/dcc_bench.py --rounds 20
	$(BIN)/python -m bench.hub_ingest --records 50000 --batch 2000 --reps 3
	$(BIN)/python -m bench.hub_load --workers 2 --clients 32 --seconds 10 --reps 2
	$(BIN)/python -m bench.cli_startup --reps 7
	$(BIN)/python -m bench.body_checks --records 2000 --repeat 7

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache node_modules src/healthcode/web/static/dist
