"""One observation month re-processed end to end (late correction), built incrementally by dbt,
and the marts equal to a full rebuild of the same raw data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO
from tests.support import same_cell as same

pytestmark = pytest.mark.slow

MONTH = "2025-06"
LATE_FILE = Path("pos") / f"observations_{MONTH}.csv"
DROPPED = 7  # rows the corrected file no longer has


def _env(home: Path, **extra) -> dict:
    env = {**os.environ, "VALUELEDGER_HOME": str(home), **extra}
    for var in (
        "VALUELEDGER_WAREHOUSE",
        "VALUELEDGER_SOURCES",
        "VALUELEDGER_REPORTS",
        "DAGSTER_HOME",
    ):
        env.pop(var, None)
    env.update(extra)
    return env


def _month_stats(con) -> dict:
    return {
        row[0]: row[1:]
        for row in con.execute(
            "select date_trunc('month', observed_on)::date::varchar, count(*), sum(value), "
            "max(loaded_at) from raw.kpi_observations group by 1"
        ).fetchall()
    }


def _invocations(con, model: str) -> dict:
    return dict(
        con.execute(
            f"select observed_month::varchar, string_agg(distinct build_invocation_id, ',') "
            f"from intermediate.{model} group by 1"
        ).fetchall()
    )


@pytest.fixture(scope="module")
def reprocessed(built_home, tmp_path_factory):
    """A copy of the built home; June's POS file corrected late; `valueledger reprocess 2025-06`."""
    home = tmp_path_factory.mktemp("partition_home")
    shutil.copytree(built_home / "sources", home / "sources")
    shutil.copy(built_home / "warehouse.duckdb", home / "warehouse.duckdb")
    # A file's rows carry its path: the moved home's files must keep owning their rows.
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        for table in ("kpi_observations", "ai_costs", "adoption", "quarantine", "load_log"):
            con.execute(
                f"update raw.{table} set source_file = replace(source_file, ?, ?)",
                [str(built_home / "sources"), str(home / "sources")],
            )
    late = home / "sources" / LATE_FILE
    lines = late.read_text().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    # A corrected file: every value of the first unit 10 % higher, the last rows withdrawn.
    fixed = []
    for line in rows[:-DROPPED]:
        unit, kpi, day, value, weight = line.rstrip("\n").split(",")
        if unit == rows[0].split(",")[0]:
            value = repr(float(value) * 1.1)
        fixed.append(",".join((unit, kpi, day, value, weight)) + "\n")
    late.write_text(header + "".join(fixed))
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        before = {
            "months": _month_stats(con),
            "load_log": con.execute("select count(*) from raw.load_log").fetchone()[0],
            "unit_months": _invocations(con, "int_unit_months_aggregated"),
        }
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "reprocess", MONTH],
        cwd=REPO,
        env=_env(home),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"\nreprocess {MONTH}: {time.perf_counter() - started:.1f} s")
    return home, before, late, len(rows)


def test_one_partition_reloads_its_month_end_to_end(reprocessed):
    home, before, late, rows_before = reprocessed
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        after = _month_stats(con)
        new_lines = con.execute(
            "select source_file, rows_read, rows_loaded, rows_quarantined from raw.load_log "
            "order by loaded_at desc limit ?",
            [con.execute("select count(*) from raw.load_log").fetchone()[0] - before["load_log"]],
        ).fetchall()
        checks_at = con.execute("select max(checked_at) from quality.evidence_checks").fetchone()[0]
        summary = con.execute("select count(*) from reports.rpt_initiative_summary").fetchone()[0]
    # Exactly the late file was loaded, and its load balances.
    assert new_lines == [(str(late), rows_before - DROPPED, rows_before - DROPPED, 0)]
    key = f"{MONTH}-01"
    assert after[key][0] == before["months"][key][0] - DROPPED
    assert after[key][2] > before["months"][key][2]
    # Every other month is untouched: same rows, same values, same load time.
    others = {m: s for m, s in before["months"].items() if m != key}
    assert {m: s for m, s in after.items() if m != key} == others
    # Gates, dbt and reports ran after the load.
    assert checks_at is not None and checks_at.date() >= after[key][2].date()
    assert summary > 0
    report = home / "reports" / "value_report" / "index.html"
    assert (
        report.exists() and report.stat().st_mtime > (home / "sources" / LATE_FILE).stat().st_mtime
    )


def test_incremental_build_replaced_only_the_month(reprocessed):
    home, before, _, _ = reprocessed
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        after = _invocations(con, "int_unit_months_aggregated")
    old = before["unit_months"]
    key = f"{MONTH}-01"
    assert set(after) == set(old)
    # The month was written by the partition run's dbt build alone, a build none of the
    # months had before; every other month keeps the build that wrote it.
    assert "," not in after[key] and after[key] not in set(old.values())
    assert {m: i for m, i in after.items() if m != key} == {
        m: i for m, i in old.items() if m != key
    }


# Past the unit-month grain: a partition run rewrites its months and the moved baselines only.
COHORT_INCREMENTAL = (
    "int_unit_months_differenced",
    "int_decay_windows_tested",
    "int_unit_influences_summed",
    "int_event_month_variances_summed",
    "int_control_units_counted",
    "int_baseline_windows_measured",
    "int_cuped_thetas_estimated",
    "int_changes_measured_naive",
)


def test_cohort_models_rebuilt_only_what_the_month_moved(reprocessed):
    home, _, _, _ = reprocessed
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        (moved,) = con.execute(
            "select count(*) from intermediate.int_unit_months_differenced__moved_baselines"
        ).fetchone()
        (baselines,) = con.execute(
            "select count(*) from intermediate.int_baselines_frozen where has_min_observations"
        ).fetchone()
        (moved_treated,) = con.execute(
            "select count(*) from intermediate.int_changes_measured_naive__moved_baselines"
        ).fetchone()
        (treated,) = con.execute(
            "select count(*) from intermediate.int_baselines_frozen where is_treated"
        ).fetchone()
    # The corrected June rows moved some baselines (windows holding June), not all: the other
    # cohort x units kept their rows outside June.
    assert 0 < moved < baselines
    assert 0 < moved_treated < treated


def _tables(con, schemas=("marts", "reports")) -> list[str]:
    return [
        f"{s}.{t}"
        for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (select unnest(?::varchar[])) order by all",
            [list(schemas)],
        ).fetchall()
    ]


def test_incremental_marts_equal_a_full_rebuild(reprocessed, tmp_path):
    home, _, _, _ = reprocessed
    full = tmp_path / "full.duckdb"
    shutil.copy(home / "warehouse.duckdb", full)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dbt.cli.main", "run", "--target-path", str(tmp_path / "target")],
        cwd=REPO / "dbt_project",
        env=_env(home, VALUELEDGER_WAREHOUSE=str(full)),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"\nfull dbt run: {time.perf_counter() - started:.1f} s")
    with (
        duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as inc,
        duckdb.connect(str(full), read_only=True) as ref,
    ):
        tables = _tables(inc)
        assert len(tables) > 20 and tables == _tables(ref)
        for table in tables + [f"intermediate.{m}" for m in COHORT_INCREMENTAL]:
            got = inc.execute(f"select * from {table} order by all").fetchall()
            want = ref.execute(f"select * from {table} order by all").fetchall()
            assert len(got) == len(want), table
            for g, w in zip(got, want, strict=True):
                assert all(same(x, y) for x, y in zip(g, w, strict=True)), (table, g, w)
        # The correction moved the numbers: the test compares a changed state, not a no-op.
        month_rows = inc.execute(
            "select count(*) from intermediate.int_unit_months_aggregated "
            f"where observed_month = date '{MONTH}-01'"
        ).fetchone()[0]
        assert month_rows > 0
