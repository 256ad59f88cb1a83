# Rollcall: `make run` starts everything on embedded defaults, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint bench bench-tenants bench-scim bench-events clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py rollcall_run

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy .

bench-tenants: $(STAMP)
	$(BIN)/python bench/tenant_creation.py

bench-scim: $(STAMP)
	$(BIN)/python bench/scim_load.py

bench-events: $(STAMP)
	$(BIN)/python bench/event_pipeline.py

bench: bench-tenants bench-scim bench-events

clean:
	rm -rf .data $(VENV)
