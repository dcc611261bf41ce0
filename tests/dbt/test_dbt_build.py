"""`dbt build` of dbt_project/ against the fixture warehouse: models, data tests, unit tests.

One build per test session (about 10-15 s); the tests then read the warehouse it produced.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
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
    statuses = {str(r.status) for r in result.result}
    assert statuses <= {"success", "pass"}, [
        (r.node.unique_id, str(r.status), r.message)
        for r in result.result
        if str(r.status) not in {"success", "pass"}
    ]
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
                "settings",
            )
        ),
    }
    assert keys[("portfolio", "initiative_kpis")] == "portfolio_initiative_kpis"
    assert {s["schema"] for s in manifest["sources"].values()} == {"raw"}


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
