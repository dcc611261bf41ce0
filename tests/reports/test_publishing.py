"""Publishing: read-only copy, finance exports with a manifest, PostgreSQL with a reader role."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from assets.reports import publishing
from assets.reports.publishing import export_finance_marts, publish_copy, publish_to_postgres
from tests.support import PG_ADMIN, PG_DOWN, postgres_up, scratch_database


@pytest.fixture
def warehouse(tmp_path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema reports; create schema raw")
        con.execute(
            "create table marts.dim_initiatives as select * from (values "
            "('a', '''; drop table x; --', 10.5::double, date '2025-01-01', true, "
            "timestamp '2026-11-26 08:30:15'), "
            "('b', '<script>alert(1)</script>', null, null, false, null), "
            "('c', '', 0.1::double, date '2026-10-01', null, null), "
            "('d', '=SUM(1,2)', 2.5::double, date '2026-10-01', null, null)) "
            "as t(initiative_id, initiative_name, budget, go_live_on, is_cash, assessed_at)"
        )
        con.execute(
            "create table marts.fct_value as select range as month_index, "
            "range * 1.0e-7 + 1/3 as value_amount from range(1000)"
        )
        con.execute("create table reports.rpt_summary as select 'a' as initiative_id")
        con.execute("create table raw.secret_stuff as select 1 as x")
    return path


def _publish(warehouse: Path, target: Path) -> dict:
    with duckdb.connect(str(warehouse)) as con:
        return publish_copy(con, target)


def test_published_copy_is_swapped_in_whole(warehouse, tmp_path):
    target = tmp_path / "O'Brien's BI" / "warehouse.duckdb"  # a quote in the path is data
    counts = _publish(warehouse, target)
    assert counts == {"marts.dim_initiatives": 4, "marts.fct_value": 1000, "reports.rpt_summary": 1}
    reader = duckdb.connect(str(target), read_only=True)
    assert reader.execute("select count(*) from marts.fct_value").fetchone() == (1000,)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into marts.fct_value values (1000, 1.0)")
    _publish(warehouse, target)  # while the old copy is still open for reading
    assert reader.execute("select count(*) from marts.fct_value").fetchone() == (1000,)
    reader.close()
    with duckdb.connect(str(target), read_only=True) as fresh:
        assert fresh.execute("select count(*) from marts.fct_value").fetchone() == (1001,)
    assert [p.name for p in target.parent.iterdir()] == ["warehouse.duckdb"]


def test_published_copy_holds_the_marts_and_reports_exactly_and_nothing_else(warehouse, tmp_path):
    target = tmp_path / "published" / "warehouse.duckdb"
    _publish(warehouse, target)
    query = (
        "select table_schema, table_name, column_name, data_type "
        "from information_schema.columns order by all"
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        expected = [r for r in con.execute(query).fetchall() if r[0] in ("marts", "reports")]
        rows = con.execute("select * from marts.dim_initiatives order by all").fetchall()
    with duckdb.connect(str(target), read_only=True) as copy:
        assert copy.execute(query).fetchall() == expected  # no raw schema, same types
        assert copy.execute("select * from marts.dim_initiatives order by all").fetchall() == rows


def test_a_failed_copy_leaves_the_published_one_and_no_debris(warehouse, tmp_path, monkeypatch):
    target = tmp_path / "published" / "warehouse.duckdb"
    _publish(warehouse, target)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into marts.fct_value values (1000, 1.0)")
        # a table that goes between listing and copying fails the copy half way
        listed = publishing.list_tables(con)
        monkeypatch.setattr(publishing, "list_tables", lambda *_: [*listed, ("marts", "gone")])
        with pytest.raises(duckdb.CatalogException, match="gone"):
            publish_copy(con, target)
    with duckdb.connect(str(target), read_only=True) as copy:
        assert copy.execute("select count(*) from marts.fct_value").fetchone() == (1000,)
    assert [p.name for p in target.parent.iterdir()] == ["warehouse.duckdb"]


def test_exports_have_every_mart_and_a_true_manifest(warehouse, tmp_path):
    exports = tmp_path / "exports"
    with duckdb.connect(str(warehouse)) as con:
        for n in range(7):
            manifest = export_finance_marts(con, exports, f"run{n:04d}", {"pass": 2}, keep=5)
    latest = exports / "latest"
    assert latest.is_symlink() and latest.resolve() == Path(manifest["folder"]).resolve()
    assert len([p for p in exports.iterdir() if p.is_dir() and not p.is_symlink()]) == 5
    on_disk = json.loads((latest / "manifest.json").read_text())
    assert on_disk["run_id"] == "run0006" and on_disk["evidence_status"] == {"pass": 2}
    assert on_disk["row_counts"] == {"dim_initiatives": 4, "fct_value": 1000}
    names = {f["file"] for f in on_disk["files"]}
    assert names == {
        "dim_initiatives.csv",
        "dim_initiatives.parquet",
        "fct_value.csv",
        "fct_value.parquet",
        "finance_marts.xlsx",
    }
    for entry in on_disk["files"]:
        assert hashlib.sha256((latest / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
    sheets = pd.read_excel(latest / "finance_marts.xlsx", sheet_name=None)
    assert set(sheets) == {"dim_initiatives", "fct_value"}
    initiatives = sheets["dim_initiatives"].set_index("initiative_id")
    # Every value as what it is: text stays text (never a formula), dates and times as such.
    assert initiatives.loc["a", "initiative_name"] == "'; drop table x; --"
    assert initiatives.loc["d", "initiative_name"] == "=SUM(1,2)"
    assert initiatives.loc["a", "go_live_on"] == pd.Timestamp("2025-01-01")
    assert initiatives.loc["a", "assessed_at"] == pd.Timestamp("2026-11-26 08:30:15")
    assert initiatives.loc["a", "budget"] == 10.5 and initiatives["is_cash"].tolist()[:2] == [
        True,
        False,
    ]
    assert pd.isna(initiatives.loc["b", "budget"]) and sheets["fct_value"].shape == (1000, 2)
    parquet = pd.read_parquet(latest / "fct_value.parquet")
    assert parquet["value_amount"].iloc[5] == 5 * 1.0e-7 + 1 / 3


@pytest.fixture
def pg_database():
    if not postgres_up():
        pytest.skip(PG_DOWN)
    import psycopg

    login = f"finance_{uuid.uuid4().hex[:8]}"
    with scratch_database("vl_publish") as name:
        with psycopg.connect(PG_ADMIN, autocommit=True) as con:
            con.execute(f"create role {login} login password 'pw-{login}'")
        yield name, login
    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f"drop role {login}")
        con.execute("drop role if exists vl_reader_test")


def test_postgres_copy_is_exact_and_finance_can_only_read(warehouse, pg_database):
    import psycopg

    database, login = pg_database
    url = f"postgresql://postgres@127.0.0.1:5432/{database}"
    with duckdb.connect(str(warehouse)) as con:
        publish_to_postgres(con, url, reader_role="vl_reader_test")
        counts = publish_to_postgres(con, url, reader_role="vl_reader_test")  # idempotent
        expected = con.execute("select * from marts.dim_initiatives order by 1").fetchall()
        values = con.execute("select value_amount from marts.fct_value order by 1").fetchall()
    assert counts == {"marts.dim_initiatives": 4, "marts.fct_value": 1000, "reports.rpt_summary": 1}
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute(f"grant vl_reader_test to {login}")
        assert pg.execute("select * from marts.dim_initiatives order by 1").fetchall() == expected
        published = pg.execute("select value_amount from marts.fct_value order by 1").fetchall()
        assert published == values
        assert pg.execute(
            "select count(*) from information_schema.schemata where schema_name = 'raw'"
        ).fetchone() == (0,)
    finance = f"postgresql://{login}:pw-{login}@127.0.0.1:5432/{database}"
    with psycopg.connect(finance, autocommit=True) as pg:
        assert pg.execute("select count(*) from marts.fct_value").fetchone() == (1000,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            pg.execute("insert into marts.fct_value values (1, 1.0)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            pg.execute("create table marts.mine (x int)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            pg.execute("delete from reports.rpt_summary")


def test_exports_leave_marts_too_long_for_excel_to_the_files(warehouse, tmp_path):
    with duckdb.connect(str(warehouse)) as con:
        manifest = export_finance_marts(con, tmp_path, "run0001", {}, excel_max_rows=999)
    folder = Path(manifest["folder"])
    assert manifest["excel_omitted"] == {"fct_value": 1000}
    assert manifest["row_counts"] == {"dim_initiatives": 4, "fct_value": 1000}
    assert set(pd.read_excel(folder / "finance_marts.xlsx", sheet_name=None)) == {"dim_initiatives"}
    assert len(pd.read_parquet(folder / "fct_value.parquet")) == 1000
