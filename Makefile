# The two set-up commands of the README. Each does all of its own set-up.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test lint soak bench

run:            ## install, migrate, load demo data, print the login, serve API + dashboard + scheduler
	scripts/run.sh

test:           ## install, start PostgreSQL (and Chromium), run the whole suite on SQLite and PostgreSQL
	scripts/test.sh

soak:           ## the fault, load and hostile-input suite (tests/faults) at soak sizes, with its summary table
	PATHWAY_SOAK=1 scripts/test.sh tests/faults --timeout=3600

lint:
	$(VENV)/bin/ruff check pathway api scheduler pathway_cli tests
	$(VENV)/bin/mypy

BENCH_ARGS ?=
bench:          ## every benchmark of BENCHMARKS.md on SQLite and PostgreSQL (long; BENCH_ARGS=--quick)
	$(VENV)/bin/pip install -q -e '.[bench]'
	@url=$$(scripts/postgres.sh start) && for b in transitions storage scan api audit worklist kpis memory peer_spiff; do \
	  PYTHONPATH=. PATHWAY_BENCH_POSTGRES_URL=$$url $(PY) -m bench.$$b $(BENCH_ARGS) || exit 1; \
	done
