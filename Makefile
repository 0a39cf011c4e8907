# The two commands: `make demo` runs the demo crawl, `make test` runs the whole test suite.
# Both set up .venv on first use (Python 3.11+, packages from the package registry).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck imports pytest bench bench-corpus bench-robots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/optout-demo

# The tests start a throw-away PostgreSQL cluster on loopback (and stop it); the script
# installs Debian's postgresql package first if the machine has none.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	tests/support/ensure-postgres.sh
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	tests/support/ensure-postgres.sh
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/crawl.py

bench-corpus: $(STAMP)
	$(BIN)/python benchmarks/crawl.py --web corpus

bench-robots: $(STAMP)
	$(BIN)/python benchmarks/robots_engine.py

clean:
	rm -rf $(VENV) var out .mypy_cache .ruff_cache .pytest_cache
