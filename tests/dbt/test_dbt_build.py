"""`dbt build` of dbt_project/ against the fixture warehouse: models, data tests, unit tests.

One build per test session (about 10-15 s); the tests then read the warehouse it produced.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import duckdb
import numpy as np
import pytest

from tests.dbt.warehouse_fixture import EXPECTED, REPO, build_warehouse

PROJECT_DIR = REPO / "dbt_project"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    from dbt.cli.main import dbtRunner  # 2-4 s import: only when the tests run

    tmp = tmp_path_factory.mktemp("dbt")
    warehouse = build_warehouse(tmp / "warehouse.duckdb")
    target = tmp / "target"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VALUELEDGER_WAREHOUSE", str(warehouse))
        mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        result = dbtRunner().invoke(
            [
                "build",
                "--project-dir",
                str(PROJECT_DIR),
                "--profiles-dir",
                str(PROJECT_DIR),
                "--target-path",
                str(target),
                "--log-path",
                str(tmp / "logs"),
            ]
        )
    return result, warehouse, target


@pytest.fixture(scope="module")
def con(built):
    _, warehouse, _ = built
    # dbt-duckdb keeps its in-process connection open: connect with the same (default) config.
    connection = duckdb.connect(str(warehouse))
    yield connection
    connection.close()


def _rows(con: duckdb.DuckDBPyConnection, sql: str, *params) -> list[dict]:
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_build_succeeds_with_every_test_passing(built):
    result, _, _ = built
    assert result.exception is None, result.exception
    assert result.success
    # Exposures (the report, the BI tool) have nothing to build: dbt reports them as no-op.
    not_ok = [
        (r.node.unique_id, str(r.status), r.message)
        for r in result.result
        if str(r.status) not in {"success", "pass"}
        and not (str(r.node.resource_type) == "exposure" and str(r.status) == "no-op")
    ]
    assert not_ok == []
    kinds = {r.node.resource_type for r in result.result}
    assert {"model", "test", "unit_test"} <= {str(k) for k in kinds}


def test_source_names_match_dagster_asset_keys(built):
    _, _, target = built
    manifest = json.loads((target / "manifest.json").read_text())
    keys = {(s["source_name"], s["name"]): s["identifier"] for s in manifest["sources"].values()}
    assert set(keys) == {
        *(
            ("evidence", t)
            for t in ("kpi_observations", "ai_costs", "adoption", "quarantine", "load_log")
        ),
        *(
            ("portfolio", t)
            for t in (
                "initiatives",
                "stages",
                "initiative_kpis",
                "rollout",
                "units",
                "kpis",
                "blockers",
                "gate_criteria",
                "rollout_plans",
                "rollout_plan_units",
                "settings",
                "signoffs",
            )
        ),
        # Results of the evidence gates (assets/quality), written before dbt runs.
        ("quality", "evidence_checks"),
    }
    assert keys[("portfolio", "initiative_kpis")] == "portfolio_initiative_kpis"
    schemas = {s["source_name"]: s["schema"] for s in manifest["sources"].values()}
    assert schemas == {"evidence": "raw", "portfolio": "raw", "quality": "quality"}


def test_layers_land_in_their_own_schemas(con):
    schemas = {
        r["table_schema"]
        for r in _rows(con, "select distinct table_schema from information_schema.tables")
    }
    assert {"raw", "staging", "intermediate", "marts", "reports"} <= schemas


@pytest.mark.parametrize("key", list(EXPECTED))
def test_injected_effect_is_measured(con, key):
    initiative_id, kpi_id, month = key
    rows = _rows(
        con,
        "select * from marts.fct_initiative_kpi_monthly "
        "where initiative_id = ? and kpi_id = ? and report_month = ?",
        initiative_id,
        kpi_id,
        month,
    )
    assert len(rows) == 1
    for column, expected in EXPECTED[key].items():
        assert rows[0][column] == pytest.approx(expected, rel=1e-9), column


def test_baselines_ignore_evidence_dated_after_go_live(con):
    # cc-01 reports 9.0 before go-live and 7.92 after: only the former is its baseline.
    (row,) = _rows(
        con,
        "select * from intermediate.int_baselines_frozen "
        "where initiative_id = 'cs-agent-assist' and kpi_id = 'aht_minutes' and unit_id = 'cc-01'",
    )
    assert row["baseline_mean"] == pytest.approx(9.0)
    assert row["baseline_observations"] == 90
    assert row["baseline_starts_on"] == dt.date(2025, 1, 7)
    assert row["baseline_ends_on"] == dt.date(2025, 4, 6)
    assert row["has_min_observations"] is True


def test_thin_baselines_are_not_measured(con):
    # fin-ap-north starts reporting invoice_exception_rate 23 days before go-live (< 30).
    (row,) = _rows(
        con,
        "select * from reports.rpt_initiative_summary "
        "where initiative_id = 'fin-invoice-capture' and kpi_id = 'invoice_exception_rate'",
    )
    assert row["n_units_rolled_out"] == 3
    assert row["n_units_measured"] == 2


def test_value_arithmetic(con):
    months = _rows(
        con,
        "select * from marts.fct_initiative_value_monthly "
        "where initiative_id = 'cs-agent-assist' order by report_month",
    )
    # Costs run 2024-10 .. 2026-01 at 10,000 a month; evidence ends 2026-01.
    assert months[0]["report_month"] == dt.date(2024, 10, 1)
    assert months[-1]["report_month"] == dt.date(2026, 1, 1)
    assert len(months) == 16
    last = months[-1]
    assert last["cumulative_cost_amount"] == pytest.approx(160_000.0)
    assert last["cumulative_value_amount"] == pytest.approx(sum(m["value_amount"] for m in months))
    assert last["roi"] == pytest.approx((last["cumulative_value_amount"] - 160_000.0) / 160_000.0)
    # Agent assist saves time: capacity, not cash.
    assert all(m["cash_value_amount"] == 0 for m in months)
    assert last["capacity_value_amount"] == pytest.approx(last["value_amount"])
    # June 2025 equals the KPI month of the only KPI.
    june = next(m for m in months if m["report_month"] == dt.date(2025, 6, 1))
    kpi_june = EXPECTED[("cs-agent-assist", "aht_minutes", dt.date(2025, 6, 1))]
    assert june["value_amount"] == pytest.approx(kpi_june["value_amount"])


def test_summary_has_one_row_per_initiative_kpi(con):
    rows = _rows(con, "select * from reports.rpt_initiative_summary")
    pairs = [(r["initiative_id"], r["kpi_id"]) for r in rows]
    assert len(pairs) == len(set(pairs)) == 14  # 13 initiatives, one with two KPIs
    assert ("fin-anomaly-detection", None) in pairs  # no KPIs: one row with a null KPI
    by_pair = {(r["initiative_id"], r["kpi_id"]): r for r in rows}
    agent = by_pair[("cs-agent-assist", "aht_minutes")]
    assert agent["change_relative"] == pytest.approx(-0.12)
    assert agent["baseline_value"] == pytest.approx(11.5)  # cc-01..cc-06: 9..14
    assert agent["current_month"] == dt.date(2026, 1, 1)
    assert agent["current_value"] == pytest.approx(11.5 * 0.88)
    assert agent["n_units_live"] == 6
    # Nothing measured (no rollout): no value rather than a value of 0.
    assert by_pair[("cs-knowledge-search", "first_contact_resolution")]["value_to_date"] is None


# --- attribution on the fixture (noise-free KPIs give exact numbers) --------------------------


def test_every_initiative_kpi_gets_an_evidence_verdict(con):
    rows = {
        (r["initiative_id"], r["kpi_id"]): r
        for r in _rows(con, "select * from marts.fct_initiative_kpi_effects")
    }
    assert len(rows) == 13  # every KPI of every initiative, rolled out or not
    assert rows[("cs-knowledge-search", "first_contact_resolution")]["verdict_reason"] == (
        "no rollout"
    )
    # Three treated units (one alone in its cohort) and one control: no cell is identified.
    for kpi_id in ("invoice_cycle_days", "invoice_exception_rate"):
        fin = rows[("fin-invoice-capture", kpi_id)]
        assert fin["evidence_verdict"] == "insufficient evidence"
        assert fin["n_cells_used"] == 0 and fin["n_cells_dropped_too_few_units"] > 0
        assert fin["attributed_change"] is None and fin["ci_low"] is None
        assert fin["naive_change"] is not None


@pytest.mark.parametrize(
    ("initiative_id", "kpi_id", "expected"),
    [
        ("ops-vision-qc", "picking_error_rate", -0.15 * 0.02),
        ("ops-demand-forecast", "overtime_hours", -0.20 * 40.0),
        ("cs-chatbot-triage", "cost_per_contact", -0.10 * 5.0),
    ],
)
def test_noise_free_effects_are_attributed_exactly(con, initiative_id, kpi_id, expected):
    # Controls do not move in the fixture, every treated unit shares the effect: DiD = effect.
    (row,) = _rows(
        con,
        "select * from marts.fct_initiative_kpi_effects where initiative_id = ? and kpi_id = ?",
        initiative_id,
        kpi_id,
    )
    assert row["attributed_change"] == pytest.approx(expected, rel=1e-9)
    assert row["attributed_favourable_change"] == pytest.approx(-expected, rel=1e-9)
    assert row["standard_error"] == pytest.approx(0.0, abs=1e-12)
    assert row["evidence_verdict"] == "measurable value"
    assert row["has_pre_trend"] is False


def test_attributed_value_is_booked_only_on_evidence(con):
    months = _rows(
        con,
        "select * from marts.fct_initiative_value_monthly "
        "where initiative_id = 'fin-invoice-capture' order by report_month",
    )
    assert sum(m["value_amount"] for m in months) > 0  # naive value exists...
    assert all(m["attributed_value_amount"] == 0 for m in months)  # ...but no evidence for it
    (returns,) = _rows(
        con,
        "select * from marts.fct_initiative_returns where initiative_id = 'fin-invoice-capture'",
    )
    assert returns["attributed_roi"] == pytest.approx(-1.0)
    assert returns["attributed_payback_month"] is None
    assert returns["n_kpis_insufficient_evidence"] == 2


def test_npv_payback_and_run_rate_arithmetic(con):
    months = _rows(
        con,
        "select * from marts.fct_initiative_value_monthly "
        "where initiative_id = 'cs-agent-assist' order by report_month",
    )
    (returns,) = _rows(
        con, "select * from marts.fct_initiative_returns where initiative_id = 'cs-agent-assist'"
    )
    rate = returns["discount_rate"]
    assert rate == pytest.approx(0.08)
    npv = sum(
        (m["attributed_value_amount"] - m["cost_amount"]) / (1 + rate) ** (i / 12)
        for i, m in enumerate(months)
    )
    assert returns["attributed_npv_amount"] == pytest.approx(npv, rel=1e-9)
    assert months[-1]["attributed_npv_amount"] == pytest.approx(npv, rel=1e-9)
    # Capacity (time saved) is never counted as cash: the cash view is all cost.
    assert returns["attributed_cash_value_to_date_amount"] == 0
    assert returns["attributed_cash_roi"] == pytest.approx(-1.0)
    last3 = months[-3:]
    assert returns["attributed_value_run_rate_amount"] == pytest.approx(
        4 * sum(m["attributed_value_amount"] for m in last3)
    )
    cumulative = np.cumsum([m["attributed_value_amount"] - m["cost_amount"] for m in months])
    paid_back = [
        m["report_month"]
        for i, m in enumerate(months)
        if m["cumulative_cost_amount"] > 0 and min(cumulative[i:]) >= 0
    ]
    assert returns["attributed_payback_month"] == (paid_back[0] if paid_back else None)


def test_a_single_load_leaves_no_late_baseline_evidence(con):
    assert _rows(con, "select count(*) as n from marts.fct_late_baseline_evidence")[0]["n"] == 0
    late = _rows(con, "select sum(late_observations) as n from intermediate.int_baselines_frozen")
    assert late[0]["n"] == 0


def test_summary_shows_attributed_change_interval_and_verdict(con):
    rows = _rows(
        con,
        "select * from reports.rpt_initiative_summary where initiative_id = 'ops-vision-qc'",
    )
    (row,) = rows
    assert row["change_relative"] == pytest.approx(-0.15)
    assert row["attributed_change_relative"] == pytest.approx(-0.15)
    assert row["attributed_ci_low_relative"] <= row["attributed_change_relative"]
    assert row["attributed_change_relative"] <= row["attributed_ci_high_relative"]
    assert row["evidence_verdict"] == "measurable value"


def test_grain_tests_tell_an_overlap_of_systems_from_a_duplicate(built, con, tmp_path):
    """The warn test flags a unit x KPI x date two source systems report; the error test flags
    a date one system delivered twice, which the warn test leaves to it."""
    from dbt.cli.main import dbtRunner

    _, warehouse, _ = built
    con.execute("checkpoint")
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy)) as scratch:
        (first, second) = scratch.execute(
            "select unit_id, kpi_id, observed_on from raw.kpi_observations "
            "group by all order by all limit 2"
        ).fetchall()
        for (unit, kpi, day), system in ((first, "'second_system'"), (second, "source_system")):
            scratch.execute(
                f"insert into raw.kpi_observations select * replace ({system} as source_system) "
                "from raw.kpi_observations where unit_id = ? and kpi_id = ? and observed_on = ?",
                [unit, kpi, day],
            )
        # Rows without a date, twice for one series (written around the loader): a duplicate
        # the grain test finds although no month holds it.
        scratch.execute(
            "insert into raw.kpi_observations select * replace (null as observed_on) "
            "from raw.kpi_observations where unit_id = ? and kpi_id = ? and observed_on = ?",
            list(second),
        )
    target = tmp_path / "target"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VALUELEDGER_WAREHOUSE", str(copy))
        mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        dbtRunner().invoke(
            ["test", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
            + ["--target-path", str(target), "--log-path", str(tmp_path / "logs")]
            + ["--select", "stg_evidence__kpi_observations,test_type:data"]
        )
    results = json.loads((target / "run_results.json").read_text())["results"]
    outcome = {r["unique_id"].split(".")[2]: (r["status"], r["failures"]) for r in results}
    overlap = outcome["stg_evidence__kpi_observations_one_source_system_per_unit_kpi_date"]
    (grain,) = [v for k, v in outcome.items() if k.startswith("unique_combination_of_columns")]
    assert overlap == ("warn", 1)  # the date two systems report, not the in-system duplicate
    assert grain == ("fail", 2)  # the date one system delivered twice, and the missing date
