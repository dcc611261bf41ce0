"""File connector formats: JSON lines and gzip, with physical line numbers in quarantine."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from sources.files import FileRejected, SourceConfig, load_file, load_source

MAPPING = {"unit_id": "centre", "kpi_id": "metric", "observed_on": "date", "weight": "contacts"}
HEADER = "centre,metric,date,value,contacts\n"


def _cfg(fmt: str, path: str, **extra) -> SourceConfig:
    return SourceConfig(
        source_system="contact_centre",
        table="kpi_observations",
        format=fmt,
        path=path,
        columns=MAPPING,
        **extra,
    )


def _write(path: Path, data: str, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data.encode()) if gz else data.encode())
    return path


def _loaded(con) -> list[tuple]:
    return con.execute(
        "select unit_id, value, weight, source_row from raw.kpi_observations order by source_row"
    ).fetchall()


def _quarantine(con) -> list[tuple]:
    return con.execute(
        "select source_row, reason, raw_text from raw.quarantine order by source_row"
    ).fetchall()


def _record(centre, value, day="2025-01-01", **extra) -> str:
    row = {"centre": centre, "metric": "aht", "date": day, "value": value, **extra}
    return json.dumps(row)


@pytest.mark.parametrize("gz", [False, True], ids=["jsonl", "jsonl.gz"])
def test_files_jsonl_keeps_physical_line_numbers(con, tmp_path, gz):
    lines = [
        _record("cc-01", 8.5, contacts=120),  # 1
        "",  # 2: blank lines are not rows
        '{"centre": "cc-02", "metric": "aht",',  # 3: broken JSON
        "[1, 2]",  # 4: not an object
        _record("cc-03", "12,5"),  # 5: bad value
        "   ",  # 6
        _record("cc-04", "7.25", contacts="90"),  # 7: numbers as strings are fine
        _record("cc-05", 7, day="2025-01-02", extra_field=True),  # 8
    ]
    name = "cc/a.jsonl.gz" if gz else "cc/a.jsonl"
    f = _write(tmp_path / name, "\n".join(lines) + "\n", gz=gz)
    result = load_file(con, _cfg("jsonl", "cc/*.jsonl*"), f)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (6, 3, 3)
    assert _loaded(con) == [
        ("cc-01", 8.5, 120.0, 1),
        ("cc-04", 7.25, 90.0, 7),
        ("cc-05", 7.0, None, 8),
    ]
    q = _quarantine(con)
    assert [r[0] for r in q] == [3, 4, 5]
    assert q[0][1:] == ("malformed line: not valid JSON", lines[2])
    assert q[1][1] == "malformed line: a JSON array, expected an object"
    assert "value '12,5' is not a number" in q[2][1] and json.loads(q[2][2])["centre"] == "cc-03"
    assert any("ignored unexpected column(s) ['extra_field']" in n for n in result.notes)


def test_files_jsonl_nested_fields_and_crlf(con, tmp_path):
    rows = [
        {"site": {"id": "cc-01"}, "metric": "aht", "date": "2025-01-01", "value": 1},
        {"site": {"id": "cc-02"}, "metric": "aht", "date": "2025-01-01", "value": 2},
    ]
    f = _write(tmp_path / "a.jsonl", "\r\n".join(json.dumps(r) for r in rows) + "\r\n")
    cfg = SourceConfig(
        source_system="s",
        table="kpi_observations",
        format="jsonl",
        path="*.jsonl",
        columns={"unit_id": "site.id", "kpi_id": "metric", "observed_on": "date"},
    )
    load_file(con, cfg, f)
    assert _loaded(con) == [("cc-01", 1.0, None, 1), ("cc-02", 2.0, None, 2)]


def test_files_jsonl_missing_field_rejects_the_file_and_empty_file_loads_nothing(con, tmp_path):
    f = _write(tmp_path / "cc/a.jsonl", json.dumps({"centre": "cc-01", "metric": "aht"}) + "\n")
    with pytest.raises(FileRejected, match=r"missing required column\(s\) date \(mapped to"):
        load_file(con, _cfg("jsonl", "cc/*.jsonl"), f)
    empty = _write(tmp_path / "cc/b.jsonl", "\n")
    result = load_file(con, _cfg("jsonl", "cc/*.jsonl"), empty)
    assert result.rows_read == 0 and any("no records" in n for n in result.notes)


def test_files_csv_gz_with_blank_lines_keeps_line_numbers(con, tmp_path):
    data = (
        HEADER
        + "cc-01,aht,2025-01-01,8.5,1\n"  # 2
        + "\n"  # 3
        + "cc-01,aht,2025-01-02,x,1\n"  # 4
        + "cc-01,aht,2025-01-03,1,1,extra\n"  # 5
        + "\n\n"  # 6, 7
        + "cc-01,aht,2025-01-04,2,1\n"  # 8
        + "\n"  # 9
    )
    f = _write(tmp_path / "cc/a.csv.gz", data, gz=True)
    result = load_file(con, _cfg("csv", "cc/*.csv.gz"), f)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 2, 2)
    assert [r[3] for r in _loaded(con)] == [2, 8]
    q = _quarantine(con)
    assert [(r[0], r[1].split(" ")[0]) for r in q] == [(4, "value"), (5, "malformed")]


def test_files_unit_conversion_applies_to_files(con, tmp_path):
    f = _write(tmp_path / "cc/a.csv", HEADER + "cc-01,aht,2025-01-01,1.5,10\n")
    load_file(con, _cfg("csv", "cc/*.csv", convert={"value": {"multiply": 60}}), f)
    assert _loaded(con) == [("cc-01", 90.0, 10.0, 2)]


def test_files_source_mixes_plain_and_gzip_files(con, tmp_path):
    _write(tmp_path / "cc/a.jsonl", _record("cc-01", 1) + "\n")
    _write(tmp_path / "cc/b.jsonl.gz", _record("cc-01", 2) + "\n" + _record("cc-02", 3), gz=True)
    _write(tmp_path / "cc/c.jsonl.gz", "not gzip at all", gz=False)
    results = load_source(con, _cfg("jsonl", "cc/*.jsonl*"), tmp_path)
    by_name = {Path(r.file).name: r for r in results}
    assert by_name["a.jsonl"].rows_loaded == 1
    assert (by_name["b.jsonl.gz"].rows_loaded, by_name["b.jsonl.gz"].rows_quarantined) == (1, 1)
    assert "cannot be read as JSON lines" in by_name["c.jsonl.gz"].error
    again = load_source(con, _cfg("jsonl", "cc/*.jsonl*"), tmp_path)
    assert [r.skipped for r in again if not r.error] == [True, True]


def test_files_large_gzip_jsonl_streams_through_duckdb(con, tmp_path):
    # 200k lines written and read by DuckDB alone: no Python loop over rows on either side.
    f = tmp_path / "big.jsonl.gz"
    con.execute(
        f"""copy (select json_object('centre', 'cc-' || (i % 50), 'metric', 'aht',
                'date', (date '2020-01-01' + (i // 50)::int)::varchar, 'value', i)
            from range(200000) t(i))
        to '{f}' (format csv, header false, quote '', delimiter '\x1f', compression gzip)"""
    )
    result = load_file(con, _cfg("jsonl", "*.jsonl.gz"), f)
    assert (result.rows_read, result.rows_loaded) == (200000, 200000)
    assert con.execute("select max(source_row) from raw.kpi_observations").fetchone() == (200000,)
