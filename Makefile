# The two commands of the README: `make demo` and `make test`. Both install what they need.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
LS_VENV := .ls-venv

.PHONY: install demo stop test lint format bench clean

$(BIN)/campaigns: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev,postgres]'
	touch $@

$(LS_VENV)/bin/label-studio: | $(BIN)/campaigns
	$(BIN)/python -c "from services.local_stack import ensure_label_studio; ensure_label_studio()"

install: $(BIN)/campaigns $(LS_VENV)/bin/label-studio

## Run the whole job end to end on synthetic traffic with local Label Studio and S3.
demo: install
	$(BIN)/python -m services.demo

## Stop the Label Studio and S3 servers the demo left running.
stop:
	$(BIN)/python -m services.demo --stop

## Lint, then the whole test suite (unit and integration, against real servers).
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Benchmarks (figures printed beside their naive baselines).
bench: install
	for script in benchmarks/bench_*.py; do $(BIN)/python -m benchmarks.$$(basename $$script .py) || exit 1; done

clean:
	rm -rf $(VENV) $(LS_VENV) .demo .pytest_cache .ruff_cache
