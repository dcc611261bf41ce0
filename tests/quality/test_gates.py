"""The evidence gates on a small warehouse: GX validates the DuckDB frames, every broken rule
is found and names its entity, results land in quality.evidence_checks, Data Docs offline."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from assets.quality.gates import run_gates
from assets.quality.profiles import RESULTS_TABLE
from assets.quality.suites import CHECKS
from sources.files import load_file
from tests.quality.warehouse import CC_HEADER, TODAY, UNITS, build, config, rules, write_sources

BLOCKING = {c.name for c in CHECKS if c.level == "blocking"}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("small")
    return build(root / "warehouse.duckdb", write_sources(root / "sources"))


@pytest.fixture
def warehouse(template, tmp_path) -> Path:
    target = tmp_path / "warehouse.duckdb"
    shutil.copy(template, target)
    return target


def _gate(path: Path, out: Path, **kw):
    with duckdb.connect(str(path)) as con:
        return run_gates(con, out, today=TODAY, build_docs=kw.pop("build_docs", False), **kw)


def _outcome(run, name: str):
    return next(o for o in run.outcomes if o.check.name == name)


def test_clean_evidence_passes_the_blocking_checks_and_is_recorded(warehouse, tmp_path):
    run = _gate(warehouse, tmp_path / "quality", build_docs=True)
    assert run.failed_blocking == []
    # cc-05/cc-06 go live on 2025-10-06, after the evidence ends: short baselines, a warning
    coverage = _outcome(run, "baseline_coverage")
    assert coverage.status == "warn"
    [row] = [r for r in coverage.failing if r["initiative_id"] == "cs-agent-assist"]
    assert row["message"] == (
        "cs-agent-assist aht_minutes: 4 of 6 live units have 30 baseline observations; short: "
        "cc-05 (0), cc-06 (0)"
    )
    # initiatives with no evidence at all cannot be measured: unverified, not blocking
    measurable = _outcome(run, "baseline_measurable")
    assert measurable.status == "fail" and not measurable.check.blocking
    assert "ops-pick-path" in {r["initiative_id"] for r in measurable.failing}
    assert "cs-agent-assist" not in {r["initiative_id"] for r in measurable.failing}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        summary = con.execute(
            f"select check_name, status from {RESULTS_TABLE} where is_check_summary"
        ).fetchall()
    assert {name for name, _ in summary} == {c.name for c in CHECKS}
    # Data Docs built offline into the data folder; GX keeps only this run's results there
    index = tmp_path / "quality" / "data_docs" / "index.html"
    assert "<html" in index.read_text().lower()
    runs = {p.name for p in (tmp_path / "quality" / "validations").glob("*/*")}
    assert runs == {run.run_id}


def test_broken_loader_invariants_fail_blocking_checks_naming_the_entity(warehouse, tmp_path):
    """Rows written around the loader (or loaded before the registry changed)."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            """
            insert into raw.kpi_observations (source_system, unit_id, kpi_id, observed_on,
                value, weight, source_file, source_row, loaded_at) values
            ('contact_centre', 'cc-02', 'aht_minutes', '2025-07-01', 500, 1, 'x', 1, now()),
            ('contact_centre', 'cc-77', 'aht_minutes', '2025-07-01', 8, 1, 'x', 2, now()),
            ('contact_centre', 'cc-03', 'aht_minutes', '2025-01-01', 8, 1, 'x', 3, now()),
            ('contact_centre', 'cc-04', 'aht_minutes', '2025-07-02', null, 1, 'x', 4, now()),
            ('contact_centre', 'cc-05', 'aht_minutes', '2027-01-01', 8, 1, 'x', 5, now())
            """
        )
        con.execute(
            """
            insert into raw.ai_costs (source_system, initiative_id, cost_month, cost_category,
                amount, currency, source_file, source_row, loaded_at) values
            ('finance_ledger', 'cs-agent-assist', '2025-07-01', 'build', 1, 'USD', 'x', 1, now()),
            ('finance_ledger', 'ops-teleport', '2025-07-01', 'build', 1, 'EUR', 'x', 2, now())
            """
        )
        con.execute(
            """
            insert into raw.adoption (source_system, initiative_id, unit_id, observed_on,
                active_users, eligible_users, source_file, source_row, loaded_at) values
            ('ai_platform', 'cs-agent-assist', 'cc-02', '2025-05-05', 120, 100, 'x', 1, now())
            """
        )
    run = _gate(warehouse, tmp_path / "quality")
    failed = {o.check.name: o for o in run.failed_blocking}
    assert set(failed) == {
        "kpi_observations_value_range",
        "kpi_observations_known_ids",
        "kpi_observations_grain_unique",
        "kpi_observations_not_null",
        "kpi_observations_date_range",
        "ai_costs_currency",
        "ai_costs_known_ids",
        "adoption_users_consistent",
    }

    def entities(name: str) -> set[tuple]:
        return {
            (r["source_system"], r["kpi_id"] or r["initiative_id"], r["unit_id"])
            for r in failed[name].failing
        }

    assert entities("kpi_observations_value_range") == {("contact_centre", "aht_minutes", "cc-02")}
    assert entities("kpi_observations_known_ids") == {("contact_centre", "aht_minutes", "cc-77")}
    assert entities("kpi_observations_grain_unique") == {("contact_centre", "aht_minutes", "cc-03")}
    assert entities("ai_costs_known_ids") == {("finance_ledger", "ops-teleport", None)}
    assert "to 500, weights from 1" in failed["kpi_observations_value_range"].failing[0]["message"]
    assert "the catalogue allows 0 to 60" in failed["kpi_observations_value_range"].message
    assert failed["ai_costs_currency"].failing[0]["message"].endswith("1 rows in USD")


def test_a_changed_schema_fails_closed(warehouse, tmp_path):
    with duckdb.connect(str(warehouse)) as con:
        con.execute("alter table raw.adoption drop column eligible_users")
        con.execute("alter table raw.kpi_observations alter value type varchar")
    run = _gate(warehouse, tmp_path / "quality")
    schema = _outcome(run, "evidence_schema")
    assert schema.status == "fail"
    assert sorted(r["message"] for r in schema.failing) == [
        "raw.adoption.eligible_users is MISSING, the contract says BIGINT",
        "raw.kpi_observations.value is VARCHAR, the contract says DOUBLE",
    ]
    broken = _outcome(run, "adoption_users_consistent")
    assert broken.status == "fail" and "adoption_profile: Binder Error" in broken.message


def test_volume_drop_fails_against_the_last_passing_run(warehouse, tmp_path):
    first = _gate(warehouse, tmp_path / "quality")
    assert _outcome(first, "evidence_volume").passed
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from raw.kpi_observations where observed_on >= '2025-03-01'")
    for _ in range(2):  # compared with the last run in which it passed, not the last run
        drop = _outcome(_gate(warehouse, tmp_path / "quality"), "evidence_volume")
        assert drop.status == "fail"
        [row] = drop.failing
        assert (row["table_name"], row["source_system"]) == ("kpi_observations", "contact_centre")
        assert row["observed_value"] == 472
        assert "472 rows, 1448 at the last passing run" in row["message"]


def test_late_rows_and_quarantined_rows_are_reported_per_initiative(warehouse, tmp_path):
    """cc-01 went live on 2025-04-07: its baseline froze with the first load. A row for
    2025-02-10 (missing from the first delivery) arrives later: loaded, and reported. A month
    of cc-03 in seconds is quarantined: more than 10 % of its rows, so its initiative is
    unverified (quarantined_share), while the source as a whole stays under 5 %."""
    src = tmp_path / "sources" / "contact_centre"
    src.mkdir(parents=True)
    late = src / "observations_2025-02-late.csv"
    late.write_text(CC_HEADER + "cc-01,aht_minutes,2025-02-10,9.0,1000\n")
    seconds = src / "observations_2025-06-seconds.csv"
    seconds.write_text(
        CC_HEADER
        + "".join(f"cc-03,aht_minutes,2025-07-{d:02d},{8.1 * 60},1000\n" for d in range(1, 31))
    )
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "delete from raw.kpi_observations "
            "where unit_id = 'cc-01' and observed_on = '2025-02-10'"
        )
        con.execute(
            """
            insert into raw.kpi_observations (source_system, unit_id, kpi_id, observed_on,
                value, weight, source_file, source_row, loaded_at)
            values ('pos', 'st-01', 'avg_basket', '2025-06-01', 48, 90, 'pos/x.csv', 2, now())
            """
        )
        later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=1)
        for f in (late, seconds):
            load_file(con, config("contact_centre"), f, loaded_at=later, rules=rules())
    run = _gate(warehouse, tmp_path / "quality")
    late_rows = _outcome(run, "late_for_frozen_baseline")
    assert late_rows.status == "warn"
    assert {(r["initiative_id"], r["kpi_id"], r["unit_id"]) for r in late_rows.failing} == {
        ("cs-agent-assist", "aht_minutes", "cc-01")
    }
    assert (
        "1 rows dated 2025-02-10 to 2025-02-10 arrived after the baseline froze"
        in (late_rows.failing[0]["message"])
    )
    assert str(late) in late_rows.failing[0]["message"]
    share = _outcome(run, "quarantined_share")
    assert share.status == "fail"
    assert [(r["kpi_id"], r["unit_id"]) for r in share.failing] == [("aht_minutes", "cc-03")]
    assert "wrong unit? divided by 60" in _outcome(run, "quarantined_rows").failing[0]["message"]
    assert _outcome(run, "evidence_quarantine_share").passed
    fresh = _outcome(run, "evidence_freshness")
    assert fresh.status == "warn"
    assert [r["message"] for r in fresh.failing] == [
        "kpi_observations from pos: newest date 2025-06-01, 29 days behind the table's newest "
        "(2025-06-30)"
    ]
    assert run.failed_blocking == []


def test_a_month_in_another_unit_inside_the_range_fails_the_level_shift(warehouse, tmp_path):
    """March of cc-03 delivered 4 times too high (still inside the KPI's range, so no row is
    quarantined): its series fails kpi_level_shift, naming the month and its ratio; the
    other series pass."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update raw.kpi_observations set value = value * 4 "
            "where unit_id = 'cc-03' and observed_on between '2025-03-01' and '2025-03-31'"
        )
    run = _gate(warehouse, tmp_path / "quality")
    shift = _outcome(run, "kpi_level_shift")
    assert shift.status == "fail" and not shift.check.blocking
    [row] = shift.failing
    assert (row["kpi_id"], row["unit_id"]) == ("aht_minutes", "cc-03")
    assert "1 month(s) at under a third or over 3 times the unit's usual" in row["message"]
    assert "2025-03 (median " in row["message"] and "4.0x)" in row["message"]
    assert shift.entities == len(UNITS)  # one row per series, not per month
