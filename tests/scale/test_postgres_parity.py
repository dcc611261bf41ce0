"""The same dbt project on PostgreSQL gives the same marts as on DuckDB (1e-9 relative).

The source schemas (raw, quality) of a full DuckDB run are copied to a fresh PostgreSQL
database, `dbt build --target postgres` runs there, and every mart and report table is compared
cell by cell.
"""

from __future__ import annotations

import pytest

from assets.reports.publishing import list_tables
from tests.support import assert_same_rows, ordered_select

pytestmark = pytest.mark.slow


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
