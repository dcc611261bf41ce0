"""File connector: typed loads, quarantine with line numbers, idempotence, clear rejections."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sources.files import (
    FileRejected,
    SourceConfig,
    SourceConfigError,
    load_file,
    load_source,
    load_sources_config,
)

HEADER = "centre,metric,date,value,contacts\n"
CSV_SOURCE = SourceConfig(
    source_system="contact_centre",
    table="kpi_observations",
    format="csv",
    path="cc/*.csv",
    columns={"unit_id": "centre", "kpi_id": "metric", "observed_on": "date", "weight": "contacts"},
)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _rows(con, table="kpi_observations"):
    return con.execute(f"select * exclude (loaded_at) from raw.{table} order by all").fetchall()


def _quarantine(con):
    return con.execute(
        "select source_row, reason, raw_text from raw.quarantine order by source_row"
    ).fetchall()


def test_csv_with_mapping_loads_typed_rows(con, tmp_path):
    f = _write(
        tmp_path / "cc/a.csv",
        HEADER + "cc-01,aht,2025-01-01,8.5,1200\ncc-01,aht,2025-01-02,8.25,\n",
    )
    result = load_file(con, CSV_SOURCE, f)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (2, 2, 0)
    assert _rows(con) == [
        (
            "contact_centre",
            "cc-01",
            "aht",
            pd.Timestamp("2025-01-01").date(),
            8.5,
            1200.0,
            str(f),
            2,
        ),
        (
            "contact_centre",
            "cc-01",
            "aht",
            pd.Timestamp("2025-01-02").date(),
            8.25,
            None,
            str(f),
            3,
        ),
    ]


def test_bad_values_are_quarantined_with_line_and_reason(con, tmp_path):
    f = _write(
        tmp_path / "cc/a.csv",
        HEADER
        + "cc-01,aht,2025-01-01,8.5,1200\n"
        + 'cc-01,aht,2025-01-02,"12,5",1200\n'
        + "cc-01,aht,2025-01-03,8.1,1200,surplus\n"
        + "cc-02,aht,03/01/2025,N/A,3\n"
        + ",aht,2025-01-05,8.0,1\n"
        + "cc-03,aht,2025-01-06,7.9,1100\n",
    )
    result = load_file(con, CSV_SOURCE, f)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (6, 2, 4)
    assert [r[7] for r in _rows(con)] == [2, 7]
    q = _quarantine(con)
    assert [r[0] for r in q] == [3, 4, 5, 6]
    assert "value '12,5' is not a number (use a dot for decimals" in q[0][1]
    assert "malformed line" in q[1][1] and q[1][2] == "cc-01,aht,2025-01-03,8.1,1200,surplus"
    assert "observed_on '03/01/2025' is not a date (expected YYYY-MM-DD)" in q[2][1]
    assert "value 'N/A' is not a number" in q[2][1]
    assert q[3][1] == "unit_id is empty"


def test_reload_is_idempotent_and_a_fixed_file_releases_its_rows(con, tmp_path):
    f = _write(
        tmp_path / "cc/a.csv", HEADER + "cc-01,aht,2025-01-01,x,1\ncc-01,aht,2025-01-02,8,1\n"
    )
    load_file(con, CSV_SOURCE, f)
    before = (_rows(con), _quarantine(con))
    again = load_file(con, CSV_SOURCE, f)
    assert again.skipped and (_rows(con), _quarantine(con)) == before
    _write(f, HEADER + "cc-01,aht,2025-01-01,8.4,1\ncc-01,aht,2025-01-02,8,1\n")
    fixed = load_file(con, CSV_SOURCE, f)
    assert (fixed.rows_loaded, fixed.rows_quarantined) == (2, 0)
    assert _quarantine(con) == [] and len(_rows(con)) == 2


def test_duplicates_within_and_across_files(con, tmp_path):
    a = _write(
        tmp_path / "cc/a.csv", HEADER + "cc-01,aht,2025-01-01,8.5,1\ncc-01,aht,2025-01-01,9.0,1\n"
    )
    b = _write(
        tmp_path / "cc/b.csv", HEADER + "cc-01,aht,2025-01-01,8.5,1\ncc-01,aht,2025-01-02,8,1\n"
    )
    results = load_source(con, CSV_SOURCE, tmp_path)
    assert [(r.rows_loaded, r.rows_quarantined) for r in results] == [(1, 1), (1, 1)]
    reasons = [r[1] for r in _quarantine(con)]
    assert "duplicate of the grain at line 2" in reasons
    assert f"grain already loaded from {a} line 2" in reasons
    del b


def test_missing_column_rejects_the_file_naming_it(con, tmp_path):
    f = _write(tmp_path / "cc/a.csv", "centre,metric,date,contacts\ncc-01,aht,2025-01-01,1\n")
    with pytest.raises(FileRejected, match=r"a.csv: missing required column\(s\) value"):
        load_file(con, CSV_SOURCE, f)


def test_wrong_delimiter_gets_a_hint(con, tmp_path):
    f = _write(tmp_path / "cc/a.csv", HEADER.replace(",", ";") + "cc-01;aht;2025-01-01;8;1\n")
    with pytest.raises(FileRejected, match="is the delimiter different"):
        load_file(con, CSV_SOURCE, f)


def test_empty_and_header_only_files(con, tmp_path):
    empty = _write(tmp_path / "cc/empty.csv", "")
    header_only = _write(tmp_path / "cc/header.csv", HEADER)
    results = load_source(con, CSV_SOURCE, tmp_path)
    by_file = {Path(r.file).name: r for r in results}
    assert "the file is empty" in by_file["empty.csv"].error
    assert by_file["header.csv"].rows_read == 0 and not by_file["header.csv"].error
    assert any("header only" in n for n in by_file["header.csv"].notes)
    # The rejected file leaves a reason in quarantine rather than vanishing.
    reasons = con.execute("select source_file, reason from raw.quarantine").fetchall()
    assert reasons == [(str(empty), by_file["empty.csv"].error)]
    del header_only


def test_rejected_file_keeps_rows_loaded_earlier(con, tmp_path):
    f = _write(tmp_path / "cc/a.csv", HEADER + "cc-01,aht,2025-01-01,8.5,1\n")
    load_source(con, CSV_SOURCE, tmp_path)
    _write(f, "garbage only\n")
    [result] = load_source(con, CSV_SOURCE, tmp_path)
    assert result.error and len(_rows(con)) == 1


def test_parquet_rows_are_numbered_from_one(con, tmp_path):
    path = tmp_path / "wms" / "o.parquet"
    path.parent.mkdir()
    pd.DataFrame(
        {
            "unit_id": ["wh-01", "wh-01"],
            "kpi_id": ["pick", "pick"],
            "observed_on": pd.to_datetime(["2025-01-01", "2025-01-02"]).date,
            "value": [60.0, None],
            "weight": [100.0, 90.0],
        }
    ).to_parquet(path)
    cfg = SourceConfig(
        source_system="wms", table="kpi_observations", format="parquet", path="wms/*.parquet"
    )
    result = load_file(con, cfg, path)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    assert _quarantine(con)[0][:2] == (2, "value is empty")


def test_sources_config_errors_are_named(tmp_path):
    bad = _write(
        tmp_path / "s.yaml", "sources:\n  - {source_system: x, table: kpi, format: csv, path: a}\n"
    )
    with pytest.raises(SourceConfigError, match="field 'table'"):
        load_sources_config(bad)
    unknown = _write(
        tmp_path / "u.yaml",
        "sources:\n  - {source_system: x, table: adoption, format: csv, path: a,\n"
        "     columns: {usrs: u}}\n",
    )
    with pytest.raises(SourceConfigError, match="unknown canonical column"):
        load_sources_config(unknown)
