"""The incremental month rebuild on PostgreSQL: a late correction of one month, rebuilt through
the incremental models, gives the marts of a full rebuild (1e-9), and only that month's rows of
the incremental models are rewritten.
"""

from __future__ import annotations

import math

import pytest

from tests.scale.conftest import dbt_on_postgres
from tests.support import same_cell as same

pytestmark = pytest.mark.slow

MONTH = "2025-06-01"
INCREMENTAL = ("int_unit_months_aggregated",)


def _marts(pg, duck) -> dict:
    from assets.reports.publishing import list_tables

    found = {}
    for schema, table in list_tables(duck, ("marts", "reports")):
        columns = [
            r[0]
            for r in pg.execute(
                "select column_name from information_schema.columns "
                "where table_schema = %s and table_name = %s order by ordinal_position",
                [schema, table],
            ).fetchall()
        ]
        order = ", ".join(str(i + 1) for i in range(len(columns)))
        found[f"{schema}.{table}"] = pg.execute(
            f"select * from {schema}.{table} order by {order}"
        ).fetchall()
    return found


def _builds(pg, model: str) -> dict:
    return dict(
        pg.execute(
            f"select observed_month::text, string_agg(distinct build_invocation_id, ',') "
            f"from intermediate.{model} group by 1"
        ).fetchall()
    )


def test_a_late_month_rebuilt_incrementally_equals_a_full_rebuild(both, pg_database, tmp_path):
    import psycopg

    duck, url = both
    with psycopg.connect(url, autocommit=True) as pg:
        before = {m: _builds(pg, m) for m in INCREMENTAL}
        # A late correction of June: one unit's values 10 % higher, a few rows withdrawn,
        # every June row loaded again (as a reloaded file is).
        pg.execute(
            "update raw.kpi_observations set value = value * 1.1 where unit_id = "
            "(select min(unit_id) from raw.kpi_observations) "
            "and date_trunc('month', observed_on) = %s",
            [MONTH],
        )
        deleted = pg.execute(
            "delete from raw.kpi_observations where (source_file, source_row) in (select "
            "source_file, source_row from raw.kpi_observations where date_trunc('month', "
            "observed_on) = %s order by 1, 2 desc limit 5)",
            [MONTH],
        ).rowcount
        assert deleted == 5
        pg.execute(
            "update raw.kpi_observations set loaded_at = loaded_at + interval '1 day' "
            "where date_trunc('month', observed_on) = %s",
            [MONTH],
        )
        dbt_on_postgres("run", pg_database, tmp_path / "inc", months=MONTH)
        for model in INCREMENTAL:
            after = _builds(pg, model)
            old = before[model]
            assert set(after) == set(old) and after[MONTH] != old[MONTH]
            assert {m: b for m, b in after.items() if m != MONTH} == {
                m: b for m, b in old.items() if m != MONTH
            }, f"{model}: months other than {MONTH} were rewritten"
        incremental = _marts(pg, duck)
        dbt_on_postgres("run", pg_database, tmp_path / "full")
        full = _marts(pg, duck)
        june = pg.execute(
            "select count(*), sum(observations), sum(month_mean) from "
            f"intermediate.int_unit_months_aggregated where observed_month = '{MONTH}'"
        ).fetchone()
    assert len(full) >= 6 and set(incremental) == set(full)
    for table, rows in full.items():
        got = incremental[table]
        assert len(got) == len(rows), table
        for g, w in zip(got, rows, strict=True):
            assert all(same(x, y) for x, y in zip(g, w, strict=True)), (table, g, w)
    # The correction reached the month's aggregates (DuckDB holds the uncorrected build).
    sql = (
        "select count(*), sum(observations), sum(month_mean) from "
        f"intermediate.int_unit_months_aggregated where observed_month = '{MONTH}'"
    )
    corrected, original = june, duck.execute(sql).fetchone()
    assert corrected[0] == original[0] and corrected[1] == original[1] - 5
    assert not math.isclose(corrected[2], original[2], rel_tol=1e-6)
