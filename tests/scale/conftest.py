"""PostgreSQL fixtures of the scale tests: a fresh database with the dbt project built on the
source schemas of a full DuckDB run."""

from __future__ import annotations

import math
import os
import socket
import uuid

import duckdb
import pytest

from assets.reports.publishing import copy_to_postgres
from orchestration.settings import DBT_PROJECT_DIR


def _pg_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def pg_database():
    if not _pg_up():
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    import psycopg

    name = f"vl_parity_{uuid.uuid4().hex[:8]}"
    admin = "host=127.0.0.1 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f"create database {name}")
    yield name
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f"drop database {name} with (force)")


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


def same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b
