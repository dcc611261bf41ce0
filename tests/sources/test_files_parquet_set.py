"""Parquet files of a source load as one set: the outcome must be that of loading them one by one.

Each scenario runs twice, through `load_source` (the set) and through `load_file` per file in
name order (the one-file path), and compares the tables, quarantine and load_log row for row.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from sources.files import ensure_raw_schema, load_source
from tests.sources.set_loading import (
    LOADED_AT,
    load_one_by_one,
    load_state,
    set_and_one_by_one,
    wms_source,
)


def _parquet(path: Path, rows: list[tuple], columns=("unit_id", "kpi_id", "observed_on")) -> None:
    names = [*columns, "value"]
    data = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    types = {"unit_id": pa.string(), "kpi_id": pa.string(), "observed_on": pa.date32()}
    schema = pa.schema([(n, types.get(n, pa.float64())) for n in names])
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(data, schema=schema), path)


def _day(n: int) -> dt.date:
    return dt.date(2025, 1, n)


def _files(root: Path) -> None:
    """Five files: in-file and cross-file duplicates, a bad value, a corrupt file, a file
    without a required column."""
    _parquet(
        root / "wms/a.parquet",
        [("u1", "k", _day(1), 1.0), ("u1", "k", _day(2), 2.0), ("u1", "k", _day(2), 3.0)],
    )
    _parquet(
        root / "wms/b.parquet",
        # day 1 again with another value, day 3 new, day 4 with no value
        [("u1", "k", _day(1), 9.0), ("u1", "k", _day(3), 4.0), ("u1", "k", _day(4), None)],
    )
    (root / "wms/c.parquet").write_bytes(b"PAR1 not really")
    _parquet(root / "wms/d.parquet", [("u2", _day(1), 5.0)], columns=("unit_id", "observed_on"))
    # day 4 is free (b's row had no value), day 3 is b's
    _parquet(root / "wms/e.parquet", [("u1", "k", _day(4), 7.0), ("u1", "k", _day(3), 4.0)])


def test_parquet_set_equals_loading_file_by_file(tmp_path):
    _files(tmp_path)
    as_set, alone = set_and_one_by_one(wms_source("parquet"), tmp_path)
    assert as_set == alone
    a, b, e = (str(tmp_path / f"wms/{n}.parquet") for n in "abe")
    assert as_set["rows"] == [
        ("u1", "k", _day(1), 2.0, a, 1),
        ("u1", "k", _day(2), 4.0, a, 2),
        ("u1", "k", _day(3), 8.0, b, 2),
        ("u1", "k", _day(4), 14.0, e, 1),
    ]
    reasons = {(q[0], q[1]): q[2] for q in as_set["quarantine"]}
    assert reasons[(a, 3)] == "duplicate of the grain at line 2"
    assert reasons[(b, 1)].startswith(f"grain already loaded from {a} line 1 with other values")
    assert reasons[(b, 3)] == "value is empty"
    assert reasons[(e, 2)] == f"grain already loaded from {b} line 2"
    assert len(reasons) == 4
    assert ("u1,k,2025-01-02,3.0") in {q[3] for q in as_set["quarantine"]}


def test_parquet_set_records_bad_files_and_reloads_a_changed_file(tmp_path):
    cfg = wms_source("parquet")
    _files(tmp_path)
    con = duckdb.connect()
    ensure_raw_schema(con)
    results = {Path(r.file).name: r for r in load_source(con, cfg, tmp_path, loaded_at=LOADED_AT)}
    assert "not a readable Parquet file" in results["c.parquet"].error
    assert "missing required column(s) kpi_id" in results["d.parquet"].error
    for name, read, loaded in (("a", 3, 2), ("b", 3, 1), ("e", 2, 1)):
        r = results[f"{name}.parquet"]
        assert (r.rows_read, r.rows_loaded, r.rows_read - r.rows_loaded) == (
            read,
            loaded,
            r.rows_quarantined,
        )
    # a changes: its day 1 goes, so b's day 1 is free; b is unchanged and keeps its outcome
    # until it is loaded again (one by one, the same).
    _parquet(tmp_path / "wms/a.parquet", [("u1", "k", _day(2), 2.0)])
    again = {Path(r.file).name: r for r in load_source(con, cfg, tmp_path, loaded_at=LOADED_AT)}
    assert again["b.parquet"].skipped and again["e.parquet"].skipped
    assert not again["a.parquet"].skipped and again["a.parquet"].rows_loaded == 1
    total = con.execute("select count(*) from raw.kpi_observations").fetchone()[0]
    assert total == 3  # a: day 2; b: day 3; e: day 4
    con.close()


def test_parquet_set_keeps_the_old_rows_of_a_later_file_in_the_way(tmp_path):
    """Sequential loading sees a later file's old rows until that file reloads: same here."""
    cfg = wms_source("parquet")
    cons = [duckdb.connect(), duckdb.connect()]
    for con in cons:
        ensure_raw_schema(con)
    loads = (
        lambda c: load_source(c, cfg, tmp_path, loaded_at=LOADED_AT),
        lambda c: load_one_by_one(c, cfg, tmp_path),
    )
    _parquet(tmp_path / "wms/b.parquet", [("u1", "k", _day(1), 1.0)])
    _parquet(tmp_path / "wms/a.parquet", [("u1", "k", _day(9), 1.0)])
    for con, load in zip(cons, loads, strict=True):
        load(con)
    # Both change: a now also claims b's day 1, which b still has.
    _parquet(tmp_path / "wms/a.parquet", [("u1", "k", _day(1), 3.0)])
    _parquet(tmp_path / "wms/b.parquet", [("u1", "k", _day(1), 1.0), ("u1", "k", _day(5), 1.0)])
    for con, load in zip(cons, loads, strict=True):
        load(con)
    as_set, alone = (load_state(con) for con in cons)
    assert as_set == alone
    # a comes first in name order and b's old row holds day 1: a's row is quarantined.
    b = str(tmp_path / "wms/b.parquet")
    assert [r[2:5:2] for r in as_set["rows"]] == [(_day(1), b), (_day(5), b)]
    for con in cons:
        con.close()


def _corrupt_pages(path: Path) -> None:
    """Garble the first column's pages, keep the footer: the schema reads, the rows do not."""
    data = bytearray(path.read_bytes())
    data[8:200] = b"\xab" * 192
    path.write_bytes(bytes(data))


def test_a_file_whose_rows_cannot_be_read_is_rejected_and_the_set_still_loads(tmp_path):
    cfg = wms_source("parquet")
    _parquet(tmp_path / "wms/a.parquet", [("u1", "k", _day(1), 1.0)])
    _parquet(tmp_path / "wms/b.parquet", [(f"u{i}", "k", _day(2), 2.0) for i in range(500)])
    _corrupt_pages(tmp_path / "wms/b.parquet")
    _parquet(tmp_path / "wms/c.parquet", [("u1", "k", _day(3), 3.0)])
    con = duckdb.connect()
    ensure_raw_schema(con)
    results = {Path(r.file).name: r for r in load_source(con, cfg, tmp_path, loaded_at=LOADED_AT)}
    assert "b.parquet: cannot be read (" in results["b.parquet"].error
    assert [results[n].rows_loaded for n in ("a.parquet", "c.parquet")] == [1, 1]
    rejected = con.execute(
        "select source_file, reason from raw.quarantine where source_row is null"
    ).fetchall()
    assert [(Path(f).name, "cannot be read" in r) for f, r in rejected] == [("b.parquet", True)]
    # nothing of the failed set attempt is left behind: no temp table or view of the batch
    temp = "select view_name from duckdb_views() where temporary and not internal"
    assert con.execute(temp).fetchall() == []
    con.close()
