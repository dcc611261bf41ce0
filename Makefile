# The two commands of the README: `make run` and `make test`. Everything else is set-up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml Makefile | cksum | cut -d' ' -f1)
# Compiled at install: with PYTHONDONTWRITEBYTECODE set (as on these machines) every process would
# otherwise compile dagster, dbt and Great Expectations from source again (GX import 6.8 s -> 3.2 s).
UV_INSTALL := $(UV) pip install --python $(PY) -q --compile-bytecode

.PHONY: run test test-spark install lint ui bench bench-scale clean

$(STAMP): requirements.lock pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check uv==0.13.9
	$(UV_INSTALL) -r requirements.lock
	$(UV) pip install --python $(PY) -q --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/valueledger run

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	VALUELEDGER_WAREHOUSE=$$(mktemp -d)/lint.duckdb $(VENV)/bin/sqlfluff lint dbt_project --processes 0

# The whole job on a throw-away warehouse (this is the dbt build), then pytest, which reuses it.
test: $(STAMP) lint
	@home=$$(mktemp -d) && trap 'rm -rf "$$home"' EXIT && \
	VALUELEDGER_HOME=$$home $(VENV)/bin/valueledger run && \
	VALUELEDGER_TEST_HOME=$$home $(VENV)/bin/pytest -m "not spark"

# Opt-in: dbt-spark + pyspark (about 450 MB) and the Spark parity test against a full run.
test-spark: $(STAMP)
	$(UV_INSTALL) -r requirements-spark.lock
	$(VENV)/bin/pytest -m spark tests/scale/test_spark_parity.py

ui: $(STAMP)
	$(VENV)/bin/valueledger ui

bench: $(STAMP)
	$(PY) bench/run_time.py

# Full build, floor, pandas route and an incremental day at 1M, 10M and 50M rows (SIZES=1M,10M).
SIZES ?= 1M,10M,50M
bench-scale: $(STAMP)
	$(PY) bench/scale.py --sizes $(SIZES)

clean:
	rm -rf data dbt_project/target dbt_project/logs
