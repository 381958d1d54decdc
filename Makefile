# The two commands of the README: `make demo` and `make test`. Both install what they need,
# from the committed lock files only: uv.lock (the project, with its extras),
# locks/label-studio.txt (the Label Studio server) and locks/uv.txt (the installer itself).
# An upstream release never changes a fresh clone; `make upgrade` moves versions on purpose.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .uv
UV := $(TOOLS)/bin/uv
LS_VENV := .ls-venv
LS_PYTHON := 3.11

.PHONY: install system-packages demo stop test check-locks fuzz lint format bench upgrade clean

## The installer, pinned with hashes, in a venv of its own (the project's venv is uv's to sync).
$(UV): locks/uv.txt
	test -x $(TOOLS)/bin/python || $(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r locks/uv.txt
	touch $@

## The project's environment: exactly what uv.lock says (--frozen: nothing re-resolved).
$(BIN)/campaigns: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet --compile-bytecode --python $(PY) --extra dev --extra postgres
	touch $@

## The Label Studio server's environment: exactly what locks/label-studio.txt says.
$(LS_VENV)/bin/label-studio: locks/label-studio.txt | $(BIN)/campaigns
	$(BIN)/python -c "from services.local_stack import ensure_label_studio; ensure_label_studio()"
	touch $@

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
test: install check-locks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest
	CAMPAIGNS_TEST_DATABASE=postgresql $(BIN)/pytest -m integration -q

## The locks match their sources: uv.lock resolves pyproject.toml's ranges as they are now
## (uv refuses a lock that is out of date), and locks/label-studio.txt pins the version set in
## locks/label-studio.in (tests/unit/test_locks.py checks the rest).
check-locks: $(UV)
	$(UV) lock --check --quiet --python $(PY)

## Re-resolve both locks to the newest versions the ranges allow, then run the whole suite.
## This is where an upstream release shows up: as a failed upgrade someone chose to run.
upgrade: $(UV)
	$(UV) lock --upgrade --python $(PY)
	$(UV) pip compile locks/label-studio.in --upgrade --universal --python-version $(LS_PYTHON) \
	  --generate-hashes --quiet --output-file locks/label-studio.txt
	$(MAKE) test

## Exploratory fuzzing of the API (random, many cases); findings become regular tests.
## The seed is printed: FUZZ_SEED=<it> make fuzz draws the same cases again.
fuzz: install
	@seed=$${FUZZ_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	  echo "FUZZ_SEED=$$seed"; \
	  FUZZ_SEED=$$seed FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} $(BIN)/pytest tests/integration/test_api_fuzz.py -q

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
	rm -rf $(VENV) $(LS_VENV) $(TOOLS) .demo .pytest_cache .ruff_cache
