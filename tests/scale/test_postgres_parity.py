"""The same dbt project on PostgreSQL gives the same marts as on DuckDB (1e-9 relative).

The source schemas (raw, quality) of a full DuckDB run are copied to a fresh PostgreSQL
database, `dbt build --target postgres` runs there, and every mart and report table is compared
cell by cell.
"""

from __future__ import annotations

import math
import os
import socket
import uuid

import duckdb
import pytest

from assets.reports.publishing import copy_to_postgres, list_tables
from orchestration.settings import DBT_PROJECT_DIR

pytestmark = pytest.mark.slow


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


@pytest.fixture(scope="module")
def both(built_home, pg_database, tmp_path_factory):
    from dbt.cli.main import dbtRunner

    url = f"postgresql://postgres@127.0.0.1:5432/{pg_database}"
    duck = duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True)
    # Every schema dbt reads from: the evidence and registry (raw) and the evidence gates'
    # results (quality), which decide each initiative's evidence status.
    copy_to_postgres(duck, url, ("raw", "quality"))
    tmp = tmp_path_factory.mktemp("dbt-pg")
    env = {"VALUELEDGER_PG_DATABASE": pg_database, "VALUELEDGER_PG_HOST": "127.0.0.1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        result = dbtRunner().invoke(
            [
                "build",
                "--target",
                "postgres",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--target-path",
                str(tmp / "target"),
                "--log-path",
                str(tmp / "logs"),
            ]
        )
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert result.success, f"dbt build on PostgreSQL failed: {result.exception}"
    yield duck, url
    duck.close()


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def test_every_mart_matches(both):
    import psycopg

    duck, url = both
    tables = list_tables(duck, ("marts", "reports"))
    assert len(tables) >= 6
    with psycopg.connect(url) as pg:
        for schema, table in tables:
            columns = [
                r[0]
                for r in duck.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            # Keys lead every mart's column list, so ordering by all columns pairs the rows.
            order = ", ".join(str(i + 1) for i in range(len(columns)))
            sql = f"select {select} from {schema}.{table} order by {order}"
            left = duck.execute(sql).fetchall()
            right = pg.execute(sql).fetchall()
            assert len(left) == len(right), f"{schema}.{table}: row counts differ"
            for n, (l_row, r_row) in enumerate(zip(left, right, strict=True)):
                for column, lv, rv in zip(columns, l_row, r_row, strict=True):
                    assert _same(lv, rv), f"{schema}.{table} row {n} {column}: {lv!r} != {rv!r}"
