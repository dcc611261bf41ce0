"""Evidence ladder, finance sign-off and learning library, on the fixture warehouse whose effects
are known (tests/dbt/warehouse_fixture.py): noise-free KPIs are attributed exactly, so their
rung, their sign-off status and the library's quantiles are known numbers."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import numpy as np
import pytest

from assets.reports.learning_library import check_target
from sources.portfolio.registry import load_registry
from sources.portfolio.signoffs import (
    FIELDS,
    Signoff,
    SignoffError,
    append_signoff,
    load_signoffs,
    parse_signoffs,
    signoff_rows,
)
from sources.portfolio.tables import PORTFOLIO_COLUMNS
from tests.dbt.warehouse_fixture import REGISTRY_PATH, build_warehouse
from tests.dbt.worlds import run_dbt

# run_dbt runs the parents too
LADDER_MODELS = ["fct_effect_library", "fct_initiative_value_monthly", "fct_initiative_returns"]
# Noise-free KPIs of the fixture: favourable relative effect, value driver, cash or capacity.
KNOWN = {
    ("ops-vision-qc", "picking_error_rate"): 0.15,
    ("ops-demand-forecast", "overtime_hours"): 0.20,
    ("cs-chatbot-triage", "cost_per_contact"): 0.10,
}
HEADER = ",".join(FIELDS) + "\n"


def _pass_every_check(path) -> None:
    # The evidence gates ran once and every check passed: every initiative's evidence passes.
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists quality")
        con.execute(
            "create or replace table quality.evidence_checks as select 'run-1' as run_id, "
            "timestamp '2026-02-01 06:30:00' as checked_at, 'kpi_value_range' as check_name, "
            "'blocking' as check_level, true as is_check_summary, null::varchar as table_name, "
            "null::varchar as source_system, null::varchar as initiative_id, "
            "null::varchar as kpi_id, null::varchar as unit_id, 'pass' as status, "
            "0.0::double as observed_value, null::varchar as threshold, 'ok' as message"
        )


def _sign(path, *records: Signoff) -> None:
    rows = signoff_rows(list(enumerate(records, start=2)))
    with duckdb.connect(str(path)) as con:
        con.execute("delete from raw.portfolio_signoffs")
        for row in rows:
            names = list(PORTFOLIO_COLUMNS["portfolio_signoffs"])
            con.execute(
                f"insert into raw.portfolio_signoffs ({', '.join(names)}) values "
                f"({', '.join('?' for _ in names)})",
                [row[n] for n in names],
            )


def _record(initiative_id, kpi_id, amount, period="to_date", month=dt.date(2026, 1, 1)):
    return Signoff(
        signed_at=dt.datetime(2026, 2, 2, 9, 0),
        signed_by="Ana Finance",
        email="ana@example.com",
        initiative_id=initiative_id,
        kpi_id=kpi_id,
        period=period,
        month=month,
        figure_amount=amount,
        currency="EUR",
        tolerance=0.005,
    )


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ladder")
    warehouse = build_warehouse(tmp / "warehouse.duckdb")
    _pass_every_check(warehouse)
    run_dbt(warehouse, tmp, LADDER_MODELS)
    return tmp, warehouse


def _query(path, sql, *params) -> list[dict]:
    with duckdb.connect(str(path)) as con:
        cursor = con.execute(sql, list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def _effect(path, initiative_id, kpi_id) -> dict:
    (row,) = _query(
        path,
        "select * from marts.fct_initiative_kpi_effects where initiative_id = ? and kpi_id = ?",
        initiative_id,
        kpi_id,
    )
    return row


def test_rungs_follow_the_evidence_before_any_sign_off(base):
    _, warehouse = base
    for initiative_id, kpi_id in KNOWN:
        row = _effect(warehouse, initiative_id, kpi_id)
        assert (row["evidence_rank"], row["evidence_level"]) == (
            4,
            "attributed with passing evidence",
        )
        assert row["signoff_status"] == "none"
    # Naive change but no identified cell: measured, not attributed.
    assert _effect(warehouse, "fin-invoice-capture", "invoice_cycle_days")["evidence_rank"] == 2
    # Not rolled out: nothing measured.
    assert _effect(warehouse, "cs-knowledge-search", "first_contact_resolution")[
        "evidence_level"
    ] == ("target only")
    # An initiative's figure stands on its weakest measured KPI.
    (fin,) = _query(
        warehouse,
        "select evidence_rank from marts.fct_initiative_returns where initiative_id = ?",
        "fin-invoice-capture",
    )
    assert fin["evidence_rank"] == 2


def test_sign_off_validates_and_a_moved_figure_makes_it_stale(base, tmp_path):
    tmp, built = base
    with duckdb.connect(str(built)) as con:
        con.execute("checkpoint")  # dbt-duckdb keeps the file open: flush it before the copy
    warehouse = shutil.copy(built, tmp_path / "warehouse.duckdb")
    cash = _effect(warehouse, "cs-chatbot-triage", "cost_per_contact")  # cost driver: cash
    capacity = _effect(warehouse, "ops-demand-forecast", "overtime_hours")
    (month,) = _query(
        warehouse,
        "select report_month, attributed_value_amount from marts.fct_initiative_value_monthly "
        "where initiative_id = 'ops-vision-qc' and attributed_value_amount > 0 "
        "order by report_month desc limit 1",
    )
    _sign(
        warehouse,
        _record("cs-chatbot-triage", "cost_per_contact", cash["attributed_value_amount"]),
        # Signed at 2% more than the mart shows: beyond the 0.5% tolerance, so stale.
        _record("ops-demand-forecast", "overtime_hours", capacity["attributed_value_amount"] * 1.02),  # noqa: E501
        _record("ops-vision-qc", "all", month["attributed_value_amount"] * 1.001, "month",
                month["report_month"]),
    )  # fmt: skip
    run_dbt(warehouse, tmp_path, ["fct_initiative_value_monthly", "fct_initiative_returns"])
    signed = _effect(warehouse, "cs-chatbot-triage", "cost_per_contact")
    assert (signed["evidence_rank"], signed["signoff_status"]) == (6, "current")
    assert signed["evidence_level"] == "realised as cash"
    assert signed["signed_off_by"] == "Ana Finance"
    stale = _effect(warehouse, "ops-demand-forecast", "overtime_hours")
    assert (stale["evidence_rank"], stale["signoff_status"]) == (4, "stale")
    (monthly,) = _query(
        warehouse,
        "select evidence_level, signoff_status from marts.fct_initiative_value_monthly "
        "where initiative_id = 'ops-vision-qc' and report_month = ?",
        month["report_month"],
    )
    # Within tolerance (0.1% < 0.5%); picking errors are a quality driver, cash in the
    # registry (only time is capacity unless stated): realised as cash.
    assert monthly == {"evidence_level": "realised as cash", "signoff_status": "current"}
    # A time-driven (capacity) figure signed off stops at finance-validated.
    _sign(warehouse, _record("ops-pick-path", "pick_time_seconds", _effect(warehouse,
          "ops-pick-path", "pick_time_seconds")["attributed_value_amount"]))  # fmt: skip
    run_dbt(warehouse, tmp_path, ["fct_initiative_kpi_effects"])
    capacity_signed = _effect(warehouse, "ops-pick-path", "pick_time_seconds")
    assert capacity_signed["evidence_level"] == "finance-validated"


def test_library_quantiles_are_type_7_on_the_known_effects(base):
    _, warehouse = base
    entries = {
        (r["initiative_id"], r["kpi_id"]): r
        for r in _query(warehouse, "select * from marts.fct_effect_library_entries")
    }
    for key, effect in KNOWN.items():
        assert entries[key]["favourable_change_relative"] == pytest.approx(effect, rel=1e-9)
        assert entries[key]["is_significant"] is True
    library = _query(warehouse, "select * from marts.fct_effect_library")
    assert library
    for row in library:
        scope = "kpi_id" if row["library_scope"] == "kpi" else "value_driver"
        values = sorted(
            e["favourable_change_relative"] for e in entries.values() if e[scope] == row["scope_id"]
        )
        assert row["n_estimates"] == len(values)
        for p in (10, 25, 50, 75, 90):
            expected = np.quantile(values, p / 100)  # numpy's default is type 7
            assert row[f"p{p}_change_relative"] == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_target_check_places_a_target_against_the_known_effect(base):
    _, warehouse = base
    with duckdb.connect(str(warehouse)) as con:
        high = check_target(con, "overtime_hours", 0.25)
        low = check_target(con, "overtime_hours", 0.15)
    assert (high.n_estimates, high.n_at_least_target) == (1, 0)
    assert high.percentile_band == "above the 90th percentile"
    assert low.n_at_least_target == 1 and low.percentile_band == "below the 10th percentile"
    assert "indicative only" in high.sentence and high.is_indicative_only


def test_bad_sign_off_record_names_file_line_and_field(tmp_path):
    path = tmp_path / "signoffs.csv"
    good = "2026-02-02T09:00:00,Ana Finance,ana@example.com,cs-agent-assist,aht_minutes,to_date,2026-01,1000.0,EUR,0.005,ok\n"  # noqa: E501
    bad = "2026-02-02T09:00:00,Ana Finance,ana@example.com,cs-agent-assist,aht_minutes,to_date,2026-01,lots,EUR,,\n"  # noqa: E501
    path.write_text(HEADER + good + bad)
    with pytest.raises(SignoffError) as info:
        load_signoffs(path)
    message = str(info.value)
    assert str(path) in message and "line 3, field 'figure_amount'" in message
    # A KPI the initiative does not measure is caught against the registry.
    path.write_text(HEADER + good.replace("aht_minutes", "avg_basket"))
    with pytest.raises(SignoffError, match="line 2, field 'kpi_id': 'avg_basket' is not a KPI"):
        load_signoffs(path, load_registry(REGISTRY_PATH))


def test_append_only_round_trip(tmp_path):
    path = tmp_path / "signoffs.csv"
    registry = load_registry(REGISTRY_PATH)
    first = _record("cs-agent-assist", "aht_minutes", 1234.5)
    assert append_signoff(path, first, registry) == 2
    assert append_signoff(path, _record("cs-agent-assist", "all", 99.0), registry) == 3
    text = path.read_text()
    assert text.startswith(HEADER) and text.count("\n") == 3
    (line, record), _ = parse_signoffs(text, path)
    assert (line, record) == (2, first)
