"""The same dbt project on PostgreSQL gives the same marts as on DuckDB (1e-9 relative).

The source schemas (raw, quality) of a full DuckDB run are copied to a fresh PostgreSQL
database, `dbt build --target postgres` runs there, and every mart and report table is compared
cell by cell.
"""

from __future__ import annotations

import os

import duckdb
import pytest

from assets.reports.publishing import copy_to_postgres, list_tables
from orchestration.settings import DBT_PROJECT_DIR
from tests.support import PG_DOWN, assert_same_rows, ordered_select, postgres_up, scratch_database

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pg_database():
    if not postgres_up():
        pytest.skip(PG_DOWN)
    with scratch_database("vl_parity") as name:
        yield name


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
            sql = ordered_select(schema, table, columns)
            assert_same_rows(
                f"{schema}.{table}",
                columns,
                duck.execute(sql).fetchall(),
                pg.execute(sql).fetchall(),
            )
