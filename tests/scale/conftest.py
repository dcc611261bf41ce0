"""PostgreSQL fixtures of the scale tests: a fresh database with the dbt project built on the
source schemas of a full DuckDB run."""

from __future__ import annotations

import os

import duckdb
import pytest

from assets.reports.publishing import copy_to_postgres
from orchestration.settings import DBT_PROJECT_DIR
from tests.support import PG_DOWN, postgres_up, scratch_database


@pytest.fixture(scope="module")
def pg_database():
    if not postgres_up():
        pytest.skip(PG_DOWN)
    with scratch_database("vl_parity") as name:
        yield name


MONTHS_ENV = "VALUELEDGER_OBSERVATION_MONTHS"


def dbt_on_postgres(command: str, database: str, tmp, months: str | None = None) -> None:
    """`dbt <command> --target postgres` in process on `database`; `months` makes it the
    incremental rebuild of those observation months (macros/observation_months.sql)."""
    from dbt.cli.main import dbtRunner

    env = {"VALUELEDGER_PG_DATABASE": database, "VALUELEDGER_PG_HOST": "127.0.0.1"}
    saved = {k: os.environ.get(k) for k in (*env, MONTHS_ENV)}
    os.environ.update(env)
    os.environ.pop(MONTHS_ENV, None)
    if months is not None:
        os.environ[MONTHS_ENV] = months
    try:
        result = dbtRunner().invoke(
            [command, "--target", "postgres", "--project-dir", str(DBT_PROJECT_DIR)]
            + ["--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp / "target")]
            + ["--log-path", str(tmp / "logs")]
        )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert result.success, f"dbt {command} on PostgreSQL failed: {result.exception}"


@pytest.fixture(scope="module")
def both(built_home, pg_database, tmp_path_factory):
    url = f"postgresql://postgres@127.0.0.1:5432/{pg_database}"
    duck = duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True)
    # Every schema dbt reads from: the evidence and registry (raw) and the evidence gates'
    # results (quality), which decide each initiative's evidence status.
    copy_to_postgres(duck, url, ("raw", "quality"))
    dbt_on_postgres("build", pg_database, tmp_path_factory.mktemp("dbt-pg"))
    yield duck, url
    duck.close()
