# One set of commands, used locally and in CI.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DISTRIBUTION ?= fronts
STAMP := $(VENV)/.installed-stamp

.PHONY: run demo test lint fmt db-start db-stop postgis test-tools web bench bench-compare bench-scale bench-physical bench-gazetteer bench-imports bench-tiles soak clean

run: $(STAMP) postgis web  ## set up everything and serve on http://127.0.0.1:8000
	$(BIN)/frontline serve

demo: $(STAMP) postgis web  ## run, with ~100 000 real events (UCDP GED, air-raid alerts) loaded first
	$(BIN)/frontline load open-data
	$(BIN)/frontline serve

test: $(STAMP) postgis test-tools web lint  ## set up everything, lint, then run the whole test suite
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy app bench

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

postgis:
	@bash scripts/ensure-postgis.sh

test-tools:
	@bash scripts/ensure-test-tools.sh

web:  ## MapLibre GL JS from npm into app/web/static/vendor/ (the /map page)
	@bash scripts/ensure-web.sh

db-start: $(STAMP) postgis
	$(BIN)/frontline db start

db-stop: $(STAMP)
	$(BIN)/frontline db stop

bench-gazetteer: $(STAMP) postgis  ## gazetteer search latency on 100 000 places
	$(BIN)/python -m bench.gazetteer

bench: $(STAMP) postgis  ## the events workload on 1 000 000 events: req/s, p50/p95/p99, RSS
	$(BIN)/python -m bench.run --events 1000000

bench-compare: $(STAMP) postgis  ## the same cases against tipg, thin asyncpg apps and pgbench (DISTRIBUTION=scatter: the second data set)
	$(BIN)/python -m bench.compare --events 1000000 --distribution $(DISTRIBUTION)

soak: $(STAMP) postgis  ## 5 minutes of 32 clients reading and writing, then a long fuzz run
	$(BIN)/python -m bench.soak --seconds 300 --clients 32
	FRONTLINE_FUZZ_EXAMPLES=200 $(BIN)/pytest -q tests/api/test_fuzz.py

bench-imports: $(STAMP) postgis  ## bulk import rows/s and memory on 1 000 000 rows
	$(BIN)/python -m bench.imports

bench-scale: $(STAMP) postgis  ## small and medium at 1M and 10M events, whole-table exports
	$(BIN)/python -m bench.scale --sizes 1000000,10000000

bench-physical: $(STAMP) postgis  ## small and medium on copies of the 1M table: clustered, BRIN, partitioned
	$(BIN)/python -m bench.physical --events 1000000

bench-tiles: $(STAMP) postgis  ## vector tile latency at zooms 4-12 on 1 000 000 events
	$(BIN)/python -m bench.tiles --events 1000000 --tiles-per-zoom 40 --import-rows 100000

# Reinstall only when the project's dependencies change.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python >= 3.11 is needed (found $$($(PYTHON) --version))" >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
		[ "$$(id -u)" = 0 ] && apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv && \
		$(PYTHON) -m venv $(VENV); } || \
		{ echo "python3 -m venv failed: install python3-venv" >&2; exit 1; }
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis *.egg-info
