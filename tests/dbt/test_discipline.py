"""Execution discipline: phase gates, honest kill decisions, the headline and the goalposts.

Three warehouses:
- the sample portfolio after a full run (`built_home`, read only): the recommendations;
- copies of it, changed and partly rebuilt with `dbt build --select`: a target lowered in the
  registry after go-live (goalpost audit), and historical costs multiplied (sunk cost);
- a hand-made handful of rows under the headline models: the headline against hand arithmetic.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from sources.contracts import RAW_SCHEMA
from sources.portfolio.registry import load_registry
from sources.portfolio.tables import PORTFOLIO_COLUMNS, portfolio_tables
from tests.dbt.warehouse_fixture import REGISTRY_PATH, REPO

PROJECT_DIR = REPO / "dbt_project"

STUCK_PILOTS = ("cs-chatbot-triage", "ops-demand-forecast", "retail-dynamic-pricing")
ZERO_EFFECT = ("ops-demand-forecast", "retail-dynamic-pricing")
HARMFUL = "cs-sentiment-routing"
READY_TO_ADVANCE = {
    "cs-agent-assist": "scaled",
    "ops-vision-qc": "scaled",
    "retail-next-best-offer": "scaled",
    "retail-complaint-triage": "production",
}


def _rows(con: duckdb.DuckDBPyConnection, sql: str, *params) -> list[dict]:
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _by_id(rows: list[dict]) -> dict[str, dict]:
    return {r["initiative_id"]: r for r in rows}


def _dbt(warehouse: Path, tmp: Path, *args: str):
    """One in-process dbt command against `warehouse`; fails the test when dbt fails."""
    from dbt.cli.main import dbtRunner  # 2-4 s import: only when the tests run

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VALUELEDGER_WAREHOUSE", str(warehouse))
        mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        result = dbtRunner().invoke(
            [
                *args,
                "--project-dir",
                str(PROJECT_DIR),
                "--profiles-dir",
                str(PROJECT_DIR),
                "--target-path",
                str(tmp / "target"),
                "--log-path",
                str(tmp / "logs"),
            ]
        )
    failed = [
        (r.node.unique_id, str(r.status), r.message)
        for r in (result.result or [])
        if str(r.status) not in {"success", "pass", "no-op"}
    ]
    assert result.success and not failed, (result.exception, failed)
    return result


def _write_registry(con: duckdb.DuckDBPyConnection, registry_path: Path) -> None:
    """Replace raw.portfolio_* from a registry file, as the ingest asset does."""
    tables = portfolio_tables(load_registry(registry_path))
    for table, columns in PORTFOLIO_COLUMNS.items():
        ddl = ", ".join(f"{name} {sql_type}" for name, sql_type in columns.items())
        con.execute(f"create or replace table {RAW_SCHEMA}.{table} ({ddl})")
        if tables[table]:
            frame = pd.DataFrame(tables[table], columns=list(columns))  # noqa: F841
            con.execute(f"insert into {RAW_SCHEMA}.{table} select * from frame")


# --- the sample portfolio -------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(built_home):
    with duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True) as con:
        yield con


@pytest.fixture(scope="module")
def recommendations(sample) -> dict[str, dict]:
    return _by_id(_rows(sample, "select * from marts.fct_initiative_recommendations"))


@pytest.mark.slow
def test_every_initiative_gets_one_recommendation_with_a_reason(sample, recommendations):
    (n_initiatives,) = sample.execute("select count(*) from marts.dim_initiatives").fetchone()
    assert len(recommendations) == n_initiatives == 13
    for ini, row in recommendations.items():
        assert row["recommendation"] in {"advance", "hold", "kill"}, ini
        reason = row["recommendation_reason"]
        # Plain words: whole sentences, no column names, no unformatted numbers.
        assert reason.endswith("."), (ini, reason)
        assert "_" not in reason and "null" not in reason.lower(), (ini, reason)
        assert not any(len(token) > 6 and token.isdigit() for token in reason.split()), reason
    # Measured at the last date of evidence, not the wall clock.
    assert {r["as_of_date"] for r in recommendations.values()} == {dt.date(2026, 10, 31)}


@pytest.mark.slow
@pytest.mark.parametrize("initiative_id", STUCK_PILOTS)
def test_stuck_pilots_are_flagged(recommendations, sample, initiative_id):
    row = recommendations[initiative_id]
    assert row["current_stage"] == "pilot"
    assert row["is_stuck"] and row["days_in_stage"] > row["max_days_in_stage"] == 180
    assert row["recommendation"] == "kill"
    reason = row["recommendation_reason"]
    assert " months in pilot" in reason or "in pilot for " in reason, reason
    assert "the limit is 6" in reason, reason
    assert "open blocker" in reason, reason
    (stage,) = _rows(
        sample,
        "select * from marts.fct_initiative_stages where initiative_id = ? and is_current",
        initiative_id,
    )
    assert stage["stage"] == "pilot" and stage["is_stuck"]
    check = _rows(
        sample,
        "select * from marts.fct_gate_evaluations "
        "where initiative_id = ? and check_name = 'max_days_in_stage'",
        initiative_id,
    )
    assert check[0]["check_status"] == "fail" and check[0]["threshold"] == 180


@pytest.mark.slow
def test_stuck_pilot_without_effect_is_stopped_for_that_reason(recommendations):
    # The chatbot could still pay in the best case, but 21 months of pilot showed nothing.
    row = recommendations["cs-chatbot-triage"]
    assert row["decision_rule"] == "stuck without effect"
    assert row["recommendation_reason"].startswith("Stop it, or fix it now: after 21 months")
    assert "no measurable effect on Cost per contact" in row["recommendation_reason"]


@pytest.mark.slow
@pytest.mark.parametrize("initiative_id", ZERO_EFFECT)
def test_zero_effect_initiatives_cannot_pay_their_way(recommendations, initiative_id):
    row = recommendations[initiative_id]
    assert row["recommendation"] == "kill"
    assert row["decision_rule"] == "cannot pay its way"
    assert row["expected_value_high_amount"] < row["expected_cost_amount"]
    reason = row["recommendation_reason"]
    assert reason.startswith("Stop it: it cannot pay its way. Even at the top of its 95%")
    assert "Money already spent does not count" in reason


@pytest.mark.slow
def test_harmful_initiative_is_flagged(recommendations, sample):
    row = recommendations[HARMFUL]
    assert row["current_stage"] == "killed"
    assert row["recommendation"] == "kill" and row["decision_rule"] == "harmful"
    assert row["recommendation_reason"] == (
        "Stopped on 2025-09-29. Keep it stopped: the evidence shows it does harm. "
        "It made First-contact resolution rate worse."
    )
    (check,) = _rows(
        sample,
        "select * from marts.fct_gate_evaluations "
        "where initiative_id = ? and check_name = 'no_harm'",
        HARMFUL,
    )
    assert check["check_status"] == "fail" and check["observed_value"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("initiative_id", sorted(READY_TO_ADVANCE))
def test_strong_initiatives_advance(recommendations, sample, initiative_id):
    row = recommendations[initiative_id]
    assert row["recommendation"] == "advance"
    assert row["next_stage"] == READY_TO_ADVANCE[initiative_id]
    assert row["n_gate_criteria"] == row["n_gate_criteria_passed"] >= 6
    assert row["recommendation_reason"].startswith(f"Ready for {row['next_stage']}: every")
    checks = _rows(
        sample,
        "select * from marts.fct_gate_evaluations where initiative_id = ? and check_kind = 'gate'",
        initiative_id,
    )
    assert {c["check_status"] for c in checks} == {"pass"}
    assert all(c["observed_value"] is not None and c["threshold"] is not None for c in checks)
    assert {c["evidence_status"] for c in checks} <= {"pass", "warn"}


@pytest.mark.slow
def test_scaled_initiative_keeps_running_and_unmeasured_one_is_held(recommendations):
    scaled = recommendations["ops-pick-path"]
    assert (scaled["recommendation"], scaled["decision_rule"]) == ("hold", "last stage")
    assert scaled["recommendation_reason"].startswith("Keep it running")
    # Three units and no controls left: nobody can tell yet, so no kill either.
    unmeasured = recommendations["fin-invoice-capture"]
    assert (unmeasured["recommendation"], unmeasured["decision_rule"]) == (
        "hold",
        "gate not passed",
    )
    assert "Too little evidence to tell whether it works" in unmeasured["recommendation_reason"]
    # A proof of concept without a planned rollout cannot become a measured pilot.
    poc = recommendations["ops-predictive-maintenance"]
    assert poc["recommendation"] == "hold"
    assert "No rollout is planned" in poc["recommendation_reason"]


@pytest.mark.slow
def test_priorities_find_the_vital_few(sample):
    rows = _rows(sample, "select * from marts.fct_initiative_priorities order by priority_rank")
    ranked = [r for r in rows if r["priority_rank"] is not None]
    assert [r["priority_rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    values = [r["risk_adjusted_net_value_amount"] for r in ranked]
    assert values == sorted(values, reverse=True)
    vital = [r["initiative_id"] for r in rows if r["is_vital_few"]]
    assert vital == ["ops-pick-path", "cs-agent-assist", "ops-vision-qc"]
    unranked = {r["initiative_id"] for r in rows if r["priority_rank"] is None}
    assert HARMFUL in unranked and "fin-invoice-capture" in unranked


@pytest.mark.slow
def test_blockers_adoption_and_history(sample, recommendations):
    blockers = _rows(
        sample,
        "select * from marts.fct_initiative_blockers where initiative_id = 'cs-chatbot-triage' "
        "order by raised_on",
    )
    # Raised 2025-05-12 and 2025-09-01, open at the as-of date 2026-10-31.
    assert [(b["is_open"], b["age_days"]) for b in blockers] == [(True, 537), (True, 425)]
    assert recommendations["cs-chatbot-triage"]["oldest_open_blocker_days"] == 537

    monthly = _rows(
        sample,
        "select * from marts.fct_initiative_adoption_monthly "
        "where initiative_id = 'cs-agent-assist' order by report_month",
    )
    assert monthly and all(0 < m["adoption_rate"] <= 1 for m in monthly)
    (n_units,) = sample.execute(
        "select count(distinct unit_id) from marts.fct_unit_adoption_monthly "
        "where initiative_id = 'cs-agent-assist'"
    ).fetchone()
    assert n_units == 6

    # The run's evaluations are in the audit history, row for row.
    (n_now,) = sample.execute("select count(*) from marts.fct_gate_evaluations").fetchone()
    latest = sample.execute(
        "select count(*) from audit.fct_gate_evaluation_history where invocation_id = "
        "(select max_by(invocation_id, evaluated_at) from audit.fct_gate_evaluation_history)"
    ).fetchone()
    assert latest == (n_now,)


# --- changes to a copy of the sample warehouse ----------------------------------------------


@pytest.fixture(scope="module")
def scratch(built_home, tmp_path_factory):
    """A copy of the full run's warehouse that tests may change and rebuild."""
    tmp = tmp_path_factory.mktemp("discipline")
    warehouse = tmp / "warehouse.duckdb"
    shutil.copy(built_home / "warehouse.duckdb", warehouse)
    return tmp, warehouse


@pytest.mark.slow
def test_target_lowered_after_go_live_shows_in_the_goalpost_audit(scratch):
    tmp, warehouse = scratch
    raw = yaml.safe_load(REGISTRY_PATH.read_text())
    (initiative,) = [i for i in raw["initiatives"] if i["initiative_id"] == "cs-agent-assist"]
    assert initiative["kpis"][0]["target"] == {"type": "relative", "change": -0.12}
    initiative["kpis"][0]["target"]["change"] = -0.08  # 12% lower became 8% lower
    registry = tmp / "portfolio.yaml"
    registry.write_text(yaml.safe_dump(raw, sort_keys=False))

    with duckdb.connect(str(warehouse)) as con:
        _write_registry(con, registry)
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    _dbt(
        warehouse,
        tmp,
        "build",
        "--select",
        "resource_type:snapshot",
        "fct_registry_changes",
        "int_target_versions_compared+",
    )

    with duckdb.connect(str(warehouse)) as con:
        changes = _rows(con, "select * from marts.fct_registry_changes")
        (target,) = _rows(
            con,
            "select * from marts.fct_target_changes "
            "where initiative_id = 'cs-agent-assist' and kpi_id = 'aht_minutes'",
        )
        (kpi,) = _rows(
            con,
            "select * from marts.fct_initiative_kpi_targets "
            "where initiative_id = 'cs-agent-assist' and kpi_id = 'aht_minutes'",
        )
    # Only the one change, listed with what, from, to and when.
    assert [
        (c["change_subject"], c["item_id"], c["attribute"], c["value_from"], c["value_to"])
        for c in changes
    ] == [("kpi target", "aht_minutes", "target_change", "-0.12", "-0.08")]
    assert changes[0]["change_kind"] == "changed" and changes[0]["is_after_go_live"]
    assert changes[0]["changed_at"] >= before - dt.timedelta(seconds=5)

    assert (target["target_change_from"], target["target_change_to"]) == (-0.12, -0.08)
    assert target["is_target_lowered"] and target["is_target_lowered_after_go_live"]
    assert target["first_go_live_on"] == dt.date(2025, 4, 7)
    assert target["target_value_to"] == pytest.approx(target["target_value_from"] * 8 / 12)

    assert (kpi["original_target_change"], kpi["current_target_change"]) == (-0.12, -0.08)
    assert kpi["n_target_changes"] == 1
    assert kpi["is_target_lowered"] and kpi["is_target_lowered_after_go_live"]
    assert kpi["attributed_attainment_of_current"] == pytest.approx(
        kpi["attributed_attainment_of_original"] * 12 / 8
    )


@pytest.mark.slow
def test_money_already_spent_never_changes_a_recommendation(built_home, tmp_path_factory):
    """Costs before the run-rate window multiplied by 10: every decision stays the same."""
    tmp = tmp_path_factory.mktemp("sunk")
    warehouse = tmp / "warehouse.duckdb"
    shutil.copy(built_home / "warehouse.duckdb", warehouse)
    with duckdb.connect(str(warehouse)) as con:
        (window_start,) = con.execute(
            "select cast(last_whole_month - interval 2 month as date) "
            "from intermediate.int_as_of_dates_chosen"
        ).fetchone()
        assert window_start == dt.date(2026, 8, 1)
        con.execute(
            "update raw.ai_costs set amount = amount * 10 where cost_month < ?", [window_start]
        )
    _dbt(warehouse, tmp, "build", "--select", "stg_evidence__ai_costs+")

    columns = (
        "initiative_id, recommendation, decision_rule, recommendation_reason, is_stuck, "
        "expected_value_amount, expected_value_low_amount, expected_value_high_amount, "
        "expected_cost_amount, value_to_cost"
    )
    checks = "initiative_id, check_name, observed_value, threshold, check_status, check_note"
    queries = {
        "recommendations": f"select {columns} from marts.fct_initiative_recommendations",
        "checks": f"select {checks} from marts.fct_gate_evaluations",
        "priorities": "select initiative_id, priority_rank, is_vital_few "
        "from marts.fct_initiative_priorities",
        "sunk": "select initiative_id, cost_to_date_amount "
        "from marts.fct_initiative_recommendations",
    }
    with duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True) as con:
        original = {k: sorted(con.execute(q).fetchall()) for k, q in queries.items()}
    with duckdb.connect(str(warehouse)) as con:
        changed = {k: sorted(con.execute(q).fetchall()) for k, q in queries.items()}
        # The second build appended its evaluations to the history; the first run's stayed.
        runs = con.execute(
            "select invocation_id, count(*) from audit.fct_gate_evaluation_history "
            "group by invocation_id"
        ).fetchall()

    # The test changed what it meant to change: far more money spent to date...
    sunk_before, sunk_after = dict(original["sunk"]), dict(changed["sunk"])
    assert sunk_after["cs-chatbot-triage"] > 5 * sunk_before["cs-chatbot-triage"]
    # ...and not one recommendation, reason, forward figure, check or rank moved.
    for name in ("recommendations", "checks", "priorities"):
        assert changed[name] == original[name], name
    assert len(runs) >= 2 and len({n for _, n in runs}) == 1, runs


# --- the headline on a hand-made portfolio --------------------------------------------------

HEADLINE_INPUTS = {
    "staging.stg_portfolio__initiatives": (
        "initiative_id varchar, business_unit varchar, currency varchar",
        [("a", "ops", "EUR"), ("b", "ops", "EUR"), ("c", "retail", "EUR")],
    ),
    "staging.stg_portfolio__stages": (
        "initiative_id varchar, stage varchar, stage_order integer, entered_on date",
        [
            ("a", "idea", 1, "2024-12-01"),
            ("a", "pilot", 3, "2025-01-10"),
            ("a", "production", 4, "2025-02-15"),
            ("b", "idea", 1, "2025-01-05"),
            ("b", "pilot", 3, "2025-02-01"),
            ("c", "idea", 1, "2025-01-20"),
            ("c", "production", 4, "2025-03-01"),
            ("c", "killed", 6, "2025-03-20"),
        ],
    ),
    "staging.stg_portfolio__gate_criteria": (
        "initiative_id varchar, from_stage varchar, to_stage varchar, criterion varchar, "
        "threshold double",
        [("b", "pilot", "production", "max_days_in_stage", 30.0)],
    ),
    "staging.stg_evidence__ai_costs": (
        "initiative_id varchar, cost_month date, cost_amount double",
        [
            ("a", "2025-01-01", 100.0),
            ("a", "2025-02-01", 100.0),
            ("a", "2025-03-01", 100.0),
            ("b", "2025-02-01", 50.0),
            ("b", "2025-03-01", 50.0),
            ("c", "2025-03-01", 200.0),
        ],
    ),
    "marts.fct_initiative_kpi_effects": (
        "initiative_id varchar, kpi_id varchar, evidence_verdict varchar",
        [
            ("a", "k1", "measurable value"),
            ("b", "k2", "no measurable value"),
            ("c", "k3", "measurable value"),
        ],
    ),
    "marts.fct_initiative_kpi_monthly": (
        "initiative_id varchar, kpi_id varchar, report_month date, attributed_value_amount double",
        [
            ("a", "k1", "2025-01-01", None),
            ("a", "k1", "2025-02-01", 1000.0),
            ("a", "k1", "2025-03-01", 1500.0),
            ("c", "k3", "2025-03-01", 300.0),
        ],
    ),
    "intermediate.int_as_of_dates_chosen": (
        "as_of_date date, as_of_month date, last_whole_month date",
        [("2025-03-31", "2025-03-01", "2025-03-01")],
    ),
}


@pytest.fixture(scope="module")
def headline(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("headline")
    warehouse = tmp / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for table, (columns, rows) in HEADLINE_INPUTS.items():
            con.execute(f"create schema if not exists {table.split('.')[0]}")
            con.execute(f"create table {table} ({columns})")
            marks = ", ".join("?" for _ in rows[0])
            con.executemany(f"insert into {table} values ({marks})", rows)
    _dbt(
        warehouse,
        tmp,
        "run",
        "--select",
        "int_initiative_months_assessed",
        "fct_portfolio_headline_monthly",
        "fct_portfolio_headline_business_unit_monthly",
    )
    with duckdb.connect(str(warehouse)) as con:
        portfolio = _rows(
            con, "select * from marts.fct_portfolio_headline_monthly order by report_month"
        )
        units = _rows(
            con,
            "select * from marts.fct_portfolio_headline_business_unit_monthly "
            "order by business_unit, report_month",
        )
    return {r["report_month"]: r for r in portfolio}, {
        (r["business_unit"], r["report_month"]): r for r in units
    }


def test_headline_matches_hand_computed_figures(headline):
    """Three initiatives, as of 2025-03-31.

    a: pilot from 10 Jan, production from 15 Feb, measurable value, attributed value from Feb
       (1000, then 1500); costs 100 a month from January.
    b: pilot from 1 Feb, no measurable value, 30 days allowed in pilot; costs 50 a month from
       February.
    c: production on 1 Mar, killed on 20 Mar (measurable value, but killed is not delivering);
       cost 200 and value 300 in March.
    """
    portfolio, _ = headline
    assert list(portfolio) == [dt.date(2024, 12, 1), *(dt.date(2025, m, 1) for m in (1, 2, 3))]

    december = portfolio[dt.date(2024, 12, 1)]
    assert (december["n_initiatives"], december["n_delivering_value"]) == (1, 0)
    assert december["share_of_spend_delivering_value"] is None  # nothing spent yet

    january = portfolio[dt.date(2025, 1, 1)]
    assert (january["n_initiatives"], january["n_in_production"], january["n_pilots"]) == (3, 0, 1)
    assert january["avg_pilot_age_days"] == 21  # a: 10 Jan to 31 Jan
    assert january["spend_to_date_amount"] == 100

    february = portfolio[dt.date(2025, 2, 1)]
    # a is in production and delivering from February: 1 of 3 initiatives, 200 of 250 spent.
    assert february["n_delivering_value"] == 1
    assert february["share_of_initiatives_delivering_value"] == pytest.approx(1 / 3)
    assert february["share_of_spend_delivering_value"] == pytest.approx(200 / 250)
    assert (february["n_pilots"], february["avg_pilot_age_days"]) == (1, 27)  # b: 1-28 Feb
    assert february["n_stuck_pilots"] == 0
    assert february["value_per_money_invested"] == pytest.approx(1000 / 250)

    march = portfolio[dt.date(2025, 3, 1)]
    assert march["month_end_on"] == dt.date(2025, 3, 31)
    assert (march["n_initiatives"], march["n_active_initiatives"]) == (3, 2)
    assert (march["n_killed_initiatives"], march["n_in_production"]) == (1, 1)
    assert march["n_delivering_value"] == 1
    assert march["share_of_initiatives_delivering_value"] == pytest.approx(1 / 3)
    assert march["spend_to_date_amount"] == 600  # a 300 + b 100 + c 200
    assert march["spend_to_date_delivering_value_amount"] == 300
    assert march["share_of_spend_delivering_value"] == pytest.approx(0.5)
    assert (march["n_pilots"], march["avg_pilot_age_days"], march["n_stuck_pilots"]) == (1, 58, 1)
    assert march["value_to_date_amount"] == 2800  # a 2500 + c 300
    assert march["value_per_money_invested"] == pytest.approx(2800 / 600)
    assert march["net_value_to_date_amount"] == 2200


def test_headline_by_business_unit_adds_up(headline):
    portfolio, units = headline
    ops, retail = units[("ops", dt.date(2025, 3, 1))], units[("retail", dt.date(2025, 3, 1))]
    assert (ops["n_initiatives"], ops["n_delivering_value"]) == (2, 1)
    assert ops["share_of_initiatives_delivering_value"] == pytest.approx(0.5)
    assert ops["share_of_spend_delivering_value"] == pytest.approx(300 / 400)
    assert (retail["n_initiatives"], retail["n_killed_initiatives"]) == (1, 1)
    assert retail["share_of_spend_delivering_value"] == 0
    for month, row in portfolio.items():
        parts = [u for (_, m), u in units.items() if m == month]
        assert sum(u["n_initiatives"] for u in parts) == row["n_initiatives"]
        assert sum(u["spend_to_date_amount"] for u in parts) == pytest.approx(
            row["spend_to_date_amount"]
        )
