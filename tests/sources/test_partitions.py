"""Monthly partitions of file sources: a partition run (re)loads exactly its month's files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sources.connectors.config import SqlSource, parse_sources
from sources.connectors.errors import SourceConfigError
from sources.connectors.partitions import file_month, files_of_months, months_between
from sources.connectors.run import load_configured_source
from sources.files import SourceConfig

SOURCE = SourceConfig(source_system="pos", table="kpi_observations", format="csv", path="pos/*.csv")
HEADER = "unit_id,kpi_id,observed_on,value,weight\n"
MARCH, APRIL = dt.date(2025, 3, 1), dt.date(2025, 4, 1)


@pytest.mark.parametrize(
    ("name", "month"),
    [
        ("observations_2025-03.csv", MARCH),
        ("observations_2025-03.csv.gz", MARCH),
        ("2024-12_observations.parquet", dt.date(2024, 12, 1)),
        ("fix_2025-03_then_2025-04.csv", APRIL),
        ("observations_2025-03-15.csv", None),  # a day, not a month
        ("observations_2025-13.csv", None),
        ("observations.csv", None),
    ],
)
def test_file_month_reads_the_month_in_the_name(name, month):
    assert file_month(Path("any/dir") / name) == month


def test_months_between_spans_year_ends():
    months = months_between(dt.date(2024, 11, 20), dt.date(2025, 2, 1))
    assert months == [
        dt.date(2024, 11, 1),
        dt.date(2024, 12, 1),
        dt.date(2025, 1, 1),
        dt.date(2025, 2, 1),
    ]
    paths = [Path(f"o_{m:%Y-%m}.csv") for m in months] + [Path("o.csv")]
    assert files_of_months(paths, [dt.date(2024, 12, 1)]) == [Path("o_2024-12.csv")]


def _month_file(root: Path, month: dt.date, values: list[float], extra: str = "") -> Path:
    path = root / "pos" / f"observations_{month:%Y-%m}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"u{i},k,{month:%Y-%m}-0{i + 1},{v},1\n" for i, v in enumerate(values)]
    path.write_text(HEADER + "".join(lines) + extra)
    return path


def _rows(con, month: dt.date):
    return con.execute(
        "select unit_id, observed_on, value, source_file from raw.kpi_observations "
        "where date_trunc('month', observed_on) = ? order by all",
        [month],
    ).fetchall()


def test_partition_run_replaces_only_its_month(con, tmp_path):
    _month_file(tmp_path, MARCH, [1.0, 2.0, 3.0])
    april = _month_file(tmp_path, APRIL, [10.0, 20.0])
    load_configured_source(con, SOURCE, tmp_path)  # the whole run: both months
    march_before = _rows(con, MARCH)
    assert len(march_before) == 3 and len(_rows(con, APRIL)) == 2

    # April corrected late: one value changed, one row dropped, one bad line added.
    _month_file(tmp_path, APRIL, [11.0], extra="u9,k,2025-04-09,not a number,1\n")
    results = load_configured_source(con, SOURCE, tmp_path, months=[APRIL])
    assert [r.file for r in results] == [str(april)]
    [r] = results
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (2, 1, 1)
    assert _rows(con, APRIL) == [("u0", dt.date(2025, 4, 1), 11.0, str(april))]
    assert _rows(con, MARCH) == march_before
    quarantined = con.execute("select source_file, source_row from raw.quarantine").fetchall()
    assert quarantined == [(str(april), 3)]

    # Idempotent: the same month again changes nothing (the unchanged file is skipped).
    [again] = load_configured_source(con, SOURCE, tmp_path, months=[APRIL])
    assert again.skipped and _rows(con, APRIL) == [("u0", dt.date(2025, 4, 1), 11.0, str(april))]
    log = con.execute(
        "select count(*), sum(rows_read) - sum(rows_loaded) - sum(rows_quarantined) "
        "from raw.load_log"
    ).fetchone()
    assert log == (3, 0)  # March, April, April corrected; each balanced


def test_partition_run_skips_sql_sources_and_files_of_other_months(con, tmp_path):
    _month_file(tmp_path, MARCH, [1.0])
    sql = SqlSource(
        source_system="erp",
        table="kpi_observations",
        kind="sql",
        url_env="NO_SUCH_URL",
        source_table="obs",
    )
    assert load_configured_source(con, sql, tmp_path, months=[MARCH]) == []
    assert load_configured_source(con, SOURCE, tmp_path, months=[APRIL]) == []
    assert con.execute("select count(*) from raw.kpi_observations").fetchone()[0] == 0


def test_freshness_setting_is_validated():
    entry = {"source_system": "pos", "table": "kpi_observations", "format": "csv", "path": "p"}
    [cfg] = parse_sources({"sources": [{**entry, "freshness": {"max_lag_days": 30}}]}, "s.yaml")
    assert cfg.freshness.max_lag_days == 30
    with pytest.raises(SourceConfigError, match=r"'pos'.*freshness.max_lag_days"):
        parse_sources({"sources": [{**entry, "freshness": {"max_lag_days": -1}}]}, "s.yaml")
    with pytest.raises(SourceConfigError, match=r"'pos'.*freshness.max_lag"):
        parse_sources({"sources": [{**entry, "freshness": {"max_lag": 3}}]}, "s.yaml")


def test_every_sample_source_has_a_freshness_limit():
    from sources.files import load_sources_config

    configs = load_sources_config(Path(__file__).parents[2] / "sources" / "sources.yaml")
    assert configs and all(c.freshness is not None for c in configs)
