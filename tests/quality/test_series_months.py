"""The KPI series profiled per month and kept: only changed months are profiled again, and the
frames read from the kept months equal a profile of the whole table."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from assets.quality import series_months
from assets.quality.profiles import BUILDERS
from assets.quality.series_months import FINGERPRINTS, SERIES_MONTHS, refresh_series_months
from tests.quality.warehouse import build, write_sources

SERIES_FRAMES = ("kpi_observations_profile", "kpi_observation_gaps", "kpi_observation_levels")

# What the frames must say, computed from every row at once (as the gates did before the
# months were kept): per series, its rows, duplicate dates, the median gap between its
# consecutive dates and the longest (the earliest of equal ones).
WHOLE_TABLE = """
    with o as (
        select source_system, lower(trim(kpi_id)) as kpi_id, lower(trim(unit_id)) as unit_id,
            observed_on
        from raw.kpi_observations
    ),
    dates as (
        select source_system, kpi_id, unit_id, observed_on, count(*) as n
        from o group by all
    ),
    gaps as (
        select *, date_diff('day', lag(observed_on) over w, observed_on) as gap_days,
            lag(observed_on) over w as gap_from
        from dates
        window w as (partition by source_system, kpi_id, unit_id order by observed_on)
    )
    select source_system, kpi_id, unit_id, sum(n)::bigint as n_rows,
        -- A row without a date repeats the series' grain, as the gates always counted it.
        (sum(n) - count(observed_on))::bigint as n_duplicate_grain,
        median(gap_days) as typical_gap_days, max(gap_days) as longest_gap_days,
        arg_min(gap_from, (-gap_days, observed_on)) filter (where gap_days is not null)
            as gap_from
    from gaps group by all order by all
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("series")
    return build(root / "warehouse.duckdb", write_sources(root / "sources"))


@pytest.fixture
def con(template, tmp_path):
    target = tmp_path / "warehouse.duckdb"
    shutil.copy(template, target)
    with duckdb.connect(str(target)) as con:
        yield con


def _frames(con) -> dict[str, pd.DataFrame]:
    return {name: con.execute(BUILDERS[name](con)).df() for name in SERIES_FRAMES}


def _from_kept_months(con) -> pd.DataFrame:
    profile, gaps = (_frames(con)[n] for n in SERIES_FRAMES[:2])
    frame = profile[["source_system", "kpi_id", "unit_id", "n_rows", "n_duplicate_grain"]].merge(
        gaps[["source_system", "kpi_id", "unit_id", "typical_gap_days", "longest_gap_days"]]
        .assign(gap_from=gaps["gap_from"].dt.strftime("%Y-%m-%d"))
        .astype({"longest_gap_days": "Int64"}),
        how="left",
    )
    return frame.sort_values(["source_system", "kpi_id", "unit_id"], ignore_index=True)


def _whole_table(con) -> pd.DataFrame:
    frame = con.execute(WHOLE_TABLE).df()
    return frame.assign(gap_from=frame["gap_from"].dt.strftime("%Y-%m-%d")).astype(
        {"longest_gap_days": "Int64"}
    )


def _assert_frames_equal(con, fresh: dict[str, pd.DataFrame]) -> None:
    kept = _frames(con)
    for name in SERIES_FRAMES:
        pd.testing.assert_frame_equal(kept[name], fresh[name], check_dtype=False, obj=name)


def test_frames_from_the_kept_months_equal_a_profile_of_the_whole_table(con):
    # Breaks that cross month boundaries: a gap over the turn of March, a duplicated day, a
    # unit written with another case and spaces (the same series), and a series reporting
    # every other day until May 2 and daily after it, whose median gap lies between the two.
    con.execute(
        """
        delete from raw.kpi_observations
        where unit_id = 'cc-03' and observed_on between '2025-03-28' and '2025-04-05';
        delete from raw.kpi_observations
        where unit_id = 'cc-05' and observed_on < '2025-05-03' and day(observed_on) % 2 = 0;
        insert into raw.kpi_observations
        select * replace (' CC-04 ' as unit_id) from raw.kpi_observations
        where unit_id = 'cc-04' and observed_on = '2025-05-10';
        """
    )
    assert refresh_series_months(con) == 6  # every month, on the first run
    pd.testing.assert_frame_equal(_from_kept_months(con), _whole_table(con), check_dtype=False)
    gaps = _frames(con)["kpi_observation_gaps"].set_index("unit_id")
    assert gaps.loc["cc-03", "longest_gap_days"] == 10  # 2025-03-27 to 2025-04-06
    assert str(gaps.loc["cc-03", "gap_from"].date()) == "2025-03-27"
    assert gaps.loc["cc-05", "typical_gap_days"] == 1.5
    assert (
        _frames(con)["kpi_observations_profile"]
        .set_index("unit_id")
        .loc["cc-04", "n_duplicate_grain"]
        == 1
    )


def test_only_changed_months_are_profiled_again_and_equal_a_fresh_profile(con):
    assert refresh_series_months(con) == 6
    assert refresh_series_months(con) == 0  # nothing changed: nothing read again
    # A changed value (same row count), a deleted day, and a month that appears.
    con.execute(
        """
        update raw.kpi_observations set value = value * 1000
        where unit_id = 'cc-02' and observed_on between '2025-02-01' and '2025-02-28';
        delete from raw.kpi_observations where observed_on = '2025-05-15';
        insert into raw.kpi_observations
        select * replace (observed_on + interval 31 day as observed_on)
        from raw.kpi_observations where observed_on between '2025-06-01' and '2025-06-30';
        """
    )
    assert refresh_series_months(con) == 3  # February, May, July
    kept = _frames(con)
    # The new values were profiled: February of cc-02 sits far above its usual level.
    levels = kept["kpi_observation_levels"].set_index("unit_id")
    assert levels.loc["cc-02", "max_level_ratio"] > 3
    assert levels.loc["cc-02", "shifted_months"].startswith("2025-02 (median ")
    assert levels.loc["cc-03", "n_shifted_months"] == 0
    con.execute(f"drop table {SERIES_MONTHS}; drop table {FINGERPRINTS}")
    assert refresh_series_months(con) == 7
    _assert_frames_equal(con, kept)
    pd.testing.assert_frame_equal(_from_kept_months(con), _whole_table(con), check_dtype=False)


def test_a_new_profile_version_profiles_every_month(con, monkeypatch):
    assert refresh_series_months(con) == 6
    monkeypatch.setattr(series_months, "PROFILE_VERSION", series_months.PROFILE_VERSION + 1)
    assert refresh_series_months(con) == 6
    assert refresh_series_months(con) == 0


def test_a_failed_refresh_keeps_the_previous_profile(con, monkeypatch):
    refresh_series_months(con)
    before = _frames(con)
    con.execute("delete from raw.kpi_observations where observed_on >= '2025-06-01'")

    def broken(months: str, span: str) -> list[str]:
        return [f"insert into {SERIES_MONTHS} select 1 / 0 from no_such_table"]

    monkeypatch.setattr(series_months, "_profile_months", broken)
    with pytest.raises(duckdb.Error):
        refresh_series_months(con)
    _assert_frames_equal(con, before)
    monkeypatch.undo()
    assert refresh_series_months(con) == 1  # June, gone, is dropped on the next run
    assert _frames(con)["kpi_observations_profile"]["last_date"].max() < pd.Timestamp("2025-06-01")


def test_rows_without_a_date_or_an_id_are_profiled_as_the_whole_table(con):
    """Rows written around the loader: a date missing (their month is null, kept as one), an
    id missing (a series of its own)."""
    con.execute(
        """
        insert into raw.kpi_observations values
        ('contact_centre', 'cc-02', 'aht_minutes', null, 9, 1, 'x.csv', 1, now()),
        ('contact_centre', 'cc-02', 'aht_minutes', null, 9, 1, 'x.csv', 2, now()),
        ('contact_centre', null, 'aht_minutes', '2025-03-03', 9, 1, 'x.csv', 3, now()),
        (null, 'cc-04', 'aht_minutes', '2025-03-03', 9, 1, null, 4, now())
        """
    )
    assert refresh_series_months(con) == 7  # six months and the rows without a date
    pd.testing.assert_frame_equal(_from_kept_months(con), _whole_table(con), check_dtype=False)
    profile = _frames(con)["kpi_observations_profile"].set_index("unit_id")
    assert profile.loc["cc-02", "n_missing_required"] == 2
    con.execute("delete from raw.kpi_observations where observed_on is null")
    assert refresh_series_months(con) == 1
    assert (
        _frames(con)["kpi_observations_profile"]
        .set_index("unit_id")
        .loc["cc-02", "n_missing_required"]
        == 0
    )
