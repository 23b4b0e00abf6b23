# Fresh machine: `make demo` or `make test`. Both create .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench screenshots clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

DEMO_HOME ?= $(CURDIR)/.demo

demo: $(STAMP)
	$(BIN)/buchex --home $(DEMO_HOME) demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check engine tui tests bench
	$(BIN)/ruff format --check engine tui tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

# An SVG of every screen from the demo data, for the README.
screenshots: $(STAMP)
	rm -f screenshots/*.svg
	$(BIN)/python -m tui.screenshots screenshots

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
