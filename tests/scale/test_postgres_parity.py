"""The same dbt project on PostgreSQL gives the same marts as on DuckDB (1e-9 relative).

The source schemas (raw, quality) of a full DuckDB run are copied to a fresh PostgreSQL
database, `dbt build --target postgres` runs there, and every mart and report table is compared
cell by cell.
"""

from __future__ import annotations

import pytest

from assets.reports.publishing import list_tables
from tests.scale.conftest import same

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
            select = ", ".join(f'"{c}"' for c in columns)
            # Keys lead every mart's column list, so ordering by all columns pairs the rows.
            order = ", ".join(str(i + 1) for i in range(len(columns)))
            sql = f"select {select} from {schema}.{table} order by {order}"
            left = duck.execute(sql).fetchall()
            right = pg.execute(sql).fetchall()
            assert len(left) == len(right), f"{schema}.{table}: row counts differ"
            for n, (l_row, r_row) in enumerate(zip(left, right, strict=True)):
                for column, lv, rv in zip(columns, l_row, r_row, strict=True):
                    assert same(lv, rv), f"{schema}.{table} row {n} {column}: {lv!r} != {rv!r}"
