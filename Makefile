# Rollcall: `make run` starts everything on embedded defaults, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run stop test install lint bench bench-tenants bench-scim bench-events bench-http clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[embedded,dev,bench]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py rollcall_run --demo

# Stops a `make run` whose terminal is gone, and the embedded PostgreSQL/Redis of .data/.
stop:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m config.stop; else echo "nothing to stop (no .venv yet)"; fi

test: $(STAMP)
	$(BIN)/python -m pytest -q

# mypy's Django plugin imports the settings; placeholder URLs keep it from starting (and, as it exits
# without atexit hooks, leaving behind) the embedded servers. Nothing connects to them.
lint: $(STAMP)
	$(BIN)/ruff check .
	DATABASE_URL=postgresql://lint@127.0.0.1:1/lint REDIS_URL=redis://127.0.0.1:1/0 $(BIN)/mypy .

bench-tenants: $(STAMP)
	$(BIN)/python bench/tenant_scale.py

bench-scim: $(STAMP)
	$(BIN)/python bench/scim_load.py

bench-events: $(STAMP)
	$(BIN)/python bench/event_pipeline.py

bench-http: $(STAMP)
	$(BIN)/python bench/http_servers.py

bench: bench-tenants bench-scim bench-events

clean: stop
	rm -rf .data $(VENV)
