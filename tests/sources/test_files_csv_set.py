"""CSV files of a source load as one set: the outcome must be that of loading them one by one.

As for Parquet (test_files_parquet_set.py): each scenario loads through `load_source` (the set)
and through `load_file` per file in name order, and compares tables, quarantine and load_log.
A set needs one header and files whose row n is on line n + 1; otherwise the files go one by
one, and the outcome is the same.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

import sources.files as files
from sources.files import ensure_raw_schema, load_source
from tests.sources.set_loading import set_and_one_by_one, wms_source

HEADER = "unit_id,kpi_id,observed_on,value\n"


def _write(root: Path, name: str, text: str) -> None:
    path = root / "wms" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _files(root: Path) -> None:
    """In-file and cross-file duplicates, a bad value, a header-only file, a file without a
    required column."""
    _write(root, "a.csv", HEADER + "u1,k,2025-01-01,1\nu1,k,2025-01-02,2\nu1,k,2025-01-02,3\n")
    # day 1 again with another value, day 3 new, day 4 with no value, a value that is no number
    _write(
        root,
        "b.csv",
        HEADER + "u1,k,2025-01-01,9\nu1,k,2025-01-03,4\nu1,k,2025-01-04,\nu2,k,2025-01-01,x\n",
    )
    _write(root, "c.csv", HEADER)
    _write(root, "d.csv", "unit_id,observed_on,value\nu2,2025-01-01,5\n")
    # day 4 is free (b's row had no value), day 3 is b's
    _write(root, "e.csv", HEADER + "u1,k,2025-01-04,7\nu1,k,2025-01-03,4\n")


@pytest.fixture
def set_sizes(monkeypatch) -> list[int]:
    """The number of files in each set written: proof the set way was taken (or not)."""
    sizes: list[int] = []
    write_batches = files.write_batches

    def spy(con, cfg, batches, **kwargs):
        sizes.append(len(batches))
        return write_batches(con, cfg, batches, **kwargs)

    monkeypatch.setattr(files, "write_batches", spy)
    return sizes


def test_csv_set_equals_loading_file_by_file(tmp_path, set_sizes):
    _files(tmp_path)
    as_set, alone = set_and_one_by_one(wms_source("csv"), tmp_path)
    assert set_sizes == [4]  # a, b, c and e as a set; d (no kpi_id) alone
    assert as_set == alone
    a, b, e = (str(tmp_path / f"wms/{n}.csv") for n in "abe")
    assert as_set["rows"] == [
        ("u1", "k", dt.date(2025, 1, 1), 2.0, a, 2),
        ("u1", "k", dt.date(2025, 1, 2), 4.0, a, 3),
        ("u1", "k", dt.date(2025, 1, 3), 8.0, b, 3),
        ("u1", "k", dt.date(2025, 1, 4), 14.0, e, 2),
    ]
    reasons = {(q[0], q[1]): q[2] for q in as_set["quarantine"]}
    # Lines as an editor shows them: the header is line 1.
    assert reasons[(a, 4)] == "duplicate of the grain at line 3"
    assert reasons[(b, 2)].startswith(f"grain already loaded from {a} line 2 with other values")
    assert reasons[(b, 4)] == "value is empty"
    assert reasons[(b, 5)].startswith("value 'x' is not")
    assert reasons[(e, 3)] == f"grain already loaded from {b} line 3"
    assert len(reasons) == 5
    assert "u2,k,2025-01-01,x" in {q[3] for q in as_set["quarantine"]}


@pytest.mark.parametrize(
    ("odd_file", "loaded_lines", "quarantined_lines"),
    [
        (HEADER + "u3,k,2025-01-05,1\n\nu3,k,2025-01-06,2\n", {2, 4}, set()),
        (HEADER + "u3,k,2025-01-05,1,extra\nu3,k,2025-01-06,2\n", {3}, {2}),
        ("kpi_id,unit_id,observed_on,value\nk,u3,2025-01-05,1\n", {2}, set()),
    ],
    ids=["empty line", "malformed line", "other header"],
)
def test_files_a_set_cannot_number_load_one_by_one(
    tmp_path, set_sizes, odd_file, loaded_lines, quarantined_lines
):
    _files(tmp_path)
    _write(tmp_path, "b2.csv", odd_file)
    as_set, alone = set_and_one_by_one(wms_source("csv"), tmp_path)
    assert as_set == alone
    assert set_sizes == []  # the set given up: every file the one-file way
    odd = str(tmp_path / "wms/b2.csv")
    # The file's rows keep their physical lines.
    assert {r[5] for r in as_set["rows"] if r[4] == odd} == loaded_lines
    assert {q[1] for q in as_set["quarantine"] if q[0] == odd} == quarantined_lines


def test_a_header_repeating_a_name_is_rejected_and_the_others_load_as_a_set(tmp_path, set_sizes):
    _files(tmp_path)
    _write(tmp_path, "b3.csv", "unit_id,kpi_id,observed_on,value,value\nu3,k,2025-01-05,1,2\n")
    con = duckdb.connect()
    ensure_raw_schema(con)
    results = {Path(r.file).name: r for r in load_source(con, wms_source("csv"), tmp_path)}
    assert "the header repeats a column name" in results["b3.csv"].error
    assert set_sizes == [4]  # a, b, c and e still as a set
    con.close()
