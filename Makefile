# The two commands of the README: `make demo` and `make test`. Both install what they need.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
LS_VENV := .ls-venv

.PHONY: install system-packages demo stop test fuzz lint format bench clean

$(BIN)/campaigns: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev,postgres]'
	touch $@

$(LS_VENV)/bin/label-studio: | $(BIN)/campaigns
	$(BIN)/python -c "from services.local_stack import ensure_label_studio; ensure_label_studio()"

## Debian's PostgreSQL (tests run the integration suite on it too) and Chromium (the HTML
## report is rendered headless in a test), installed only when missing.
system-packages:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v chromium >/dev/null \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      postgresql chromium >/dev/null)

install: $(BIN)/campaigns $(LS_VENV)/bin/label-studio system-packages

## Run the whole job end to end on synthetic traffic with local Label Studio and S3.
demo: install
	$(BIN)/python -m services.demo

## Stop the Label Studio and S3 servers the demo left running.
stop:
	$(BIN)/python -m services.demo --stop

## Lint, then the whole test suite (unit and integration, against real servers, on SQLite),
## then the integration tests again with PostgreSQL as the campaign database.
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest
	CAMPAIGNS_TEST_DATABASE=postgresql $(BIN)/pytest -m integration -q

## Exploratory fuzzing of the API (random, many cases); findings become regular tests.
fuzz: install
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} $(BIN)/pytest tests/integration/test_api_fuzz.py -q

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
