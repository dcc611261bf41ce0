"""What the value report shows, read from the marts in one pass (no rendering here).

The report needs the core marts (`dim_initiatives` at least). Everything else is optional and
read only when it exists: a mart added later (gate evaluations, target changes, a headline, an
evidence status) fills its section, and until then the section says "not available". Optional
tables are found by name in the `marts` and `reports` schemas, and shown with the columns they
have, so the report does not break when such a mart gains a column.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

from assets.reports.html.decision_grade import DecisionGrade, load_decision_grade
from assets.reports.html.ladder import load_ladder

STAGES = ("idea", "poc", "pilot", "production", "scaled", "killed")
IN_PRODUCTION = ("production", "scaled")
STATUS_RANK = {"pass": 0, "warn": 1, "fail": 2}
REQUIRED = ("dim_initiatives",)


class ReportDataError(RuntimeError):
    """The warehouse cannot produce a report (no marts yet, for instance)."""


@dataclass
class Section:
    """An optional mart shown as a table per initiative, or `available=False` with a reason."""

    title: str
    available: bool
    source: str = ""
    columns: list[str] = field(default_factory=list)
    rows_by_initiative: dict[str, list[dict]] = field(default_factory=dict)
    note: str = ""

    def rows(self, initiative_id: str) -> list[dict]:
        return self.rows_by_initiative.get(initiative_id, [])


@dataclass
class ReportData:
    portfolio_name: str
    currency: str
    as_of: dt.date | None
    initiatives: list[dict]
    headline: dict
    stages: list[tuple[str, int, float]]
    portfolio_monthly: list[dict]
    kpis: dict[str, list[dict]]
    kpi_monthly: dict[tuple[str, str], list[dict]]
    event_study: dict[tuple[str, str], list[dict]]
    value_monthly: dict[str, list[dict]]
    blockers: dict[str, list[dict]]
    stage_history: dict[str, list[dict]]
    late_evidence: dict[str, int]
    evidence: Section
    gates: Section
    targets: Section
    target_changes: Section
    headline_monthly: list[dict] = field(default_factory=list)
    recommendations: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    ladder: dict[str, dict] = field(default_factory=dict)  # html/ladder.py
    decision_grade: DecisionGrade = field(default_factory=DecisionGrade)

    def initiative(self, initiative_id: str) -> dict:
        return next(i for i in self.initiatives if i["initiative_id"] == initiative_id)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, (_clean(v) for v in row), strict=True)) for row in cursor.fetchall()]


def _clean(value: Any) -> Any:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.datetime) and value == dt.datetime.combine(value.date(), dt.time()):
        return value.date()
    return value


class Catalogue:
    """Which tables and columns the warehouse has (information_schema, read once)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.columns: dict[tuple[str, str], list[str]] = defaultdict(list)
        for schema, table, column in con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema in ('marts', 'reports', 'raw') "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall():
            self.columns[(schema, table)].append(column)

    def has(self, schema: str, table: str, *columns: str) -> bool:
        have = self.columns.get((schema, table))
        return have is not None and all(c in have for c in columns)

    def find(self, *, name_contains: str, schemas=("marts", "reports")) -> list[tuple[str, str]]:
        return sorted(
            (s, t)
            for (s, t), cols in self.columns.items()
            if s in schemas and name_contains in t and "initiative_id" in cols
        )


def _section(
    con,
    cat: Catalogue,
    title: str,
    tables: tuple[str, ...],
    name_contains: str,
    columns: tuple[str, ...] = (),
    order: tuple[str, ...] = (),
) -> Section:
    """An optional mart per initiative: the first of `tables` present, else any mart whose name
    contains `name_contains`; shown with `columns` (those it has), or all its columns."""
    found = [("marts", t) for t in tables if cat.has("marts", t, "initiative_id")]
    found += cat.find(name_contains=name_contains)
    if not found:
        return Section(title, available=False, note=f"no {' or '.join(tables)} mart yet")
    schema, table = found[0]
    have = cat.columns[(schema, table)]
    sql = f'select * from {schema}."{table}"'
    order_by = [c for c in ("initiative_id", *order) if c in have]
    sql += " order by " + ", ".join(f'"{c}"' for c in order_by)
    by_initiative: dict[str, list[dict]] = defaultdict(list)
    for row in _rows(con, sql):
        by_initiative[row.get("initiative_id")].append(row)
    shown = [c for c in columns if c in have] or [c for c in have if c != "initiative_id"]
    return Section(
        title,
        available=True,
        source=f"{schema}.{table}",
        columns=shown,
        rows_by_initiative=dict(by_initiative),
    )


def _evidence(con, cat: Catalogue) -> Section:
    """Evidence status per initiative (pass | warn | fail) from whichever mart carries it."""
    candidates = [
        ("marts", "dim_initiatives"),
        ("marts", "fct_initiative_recommendations"),
        ("reports", "rpt_initiative_summary"),
    ]
    candidates += [
        (s, t)
        for (s, t), cols in sorted(cat.columns.items())
        if s in ("marts", "reports") and "evidence_status" in cols and "initiative_id" in cols
    ]
    for schema, table in candidates:
        if not cat.has(schema, table, "initiative_id", "evidence_status"):
            continue
        cols = cat.columns[(schema, table)]
        extra = [
            c
            for c in (
                "evidence_note",
                "failed_checks",
                "warned_checks",
                "evidence_checked_at",
            )
            if c in cols
        ]
        rows = _rows(
            con,
            f"select initiative_id, evidence_status{''.join(', ' + c for c in extra)} "
            f"from {schema}.{table}",
        )
        by_initiative: dict[str, list[dict]] = {}
        for row in rows:  # one status per initiative: the worst of its rows
            have = by_initiative.get(row["initiative_id"])
            rank = STATUS_RANK.get(str(row["evidence_status"]), 3)
            if have is None or rank > STATUS_RANK.get(str(have[0]["evidence_status"]), 3):
                by_initiative[row["initiative_id"]] = [row]
        return Section(
            "Evidence status",
            available=True,
            source=f"{schema}.{table}",
            columns=["evidence_status", *extra],
            rows_by_initiative=by_initiative,
        )
    return Section(
        "Evidence status",
        available=False,
        note="no mart carries an `evidence_status` column yet",
    )


def headline_from_initiatives(initiatives: list[dict]) -> dict:
    """The portfolio headline, computed from the per-initiative figures.

    Delivering = in production or scaled, at least one KPI with measurable value (95% interval
    of the attributed favourable change above zero) and no KPI harmful: the definition of
    marts.fct_portfolio_headline_monthly, which the report prefers when it exists.
    """
    spend = sum(i["cost_to_date_amount"] or 0.0 for i in initiatives)
    value = sum(i["attributed_value_to_date_amount"] or 0.0 for i in initiatives)
    in_production = [i for i in initiatives if i["current_stage"] in IN_PRODUCTION]
    delivering = [i for i in in_production if i["is_delivering"]]
    production_spend = sum(i["cost_to_date_amount"] or 0.0 for i in in_production)
    delivering_spend = sum(i["cost_to_date_amount"] or 0.0 for i in delivering)
    return {
        "source": "computed by the report from marts.fct_initiative_returns "
        f"(no marts.{HEADLINE_MART} in the warehouse)",
        "month": None,
        "spend_amount": spend,
        "budget_amount": sum(i["budget_amount"] or 0.0 for i in initiatives),
        "attributed_value_amount": value,
        "net_value_amount": value - spend,
        "roi": (value - spend) / spend if spend else None,
        "delivering_spend_amount": delivering_spend,
        "production_spend_amount": production_spend,
        "other_spend_amount": spend - production_spend,
        "share_of_spend_delivering": delivering_spend / spend if spend else None,
        "n_initiatives": len(initiatives),
        "n_in_production": len(in_production),
        "n_delivering": len(delivering),
        "share_of_initiatives_delivering": len(delivering) / len(initiatives)
        if initiatives
        else None,
        "n_pilots": sum(1 for i in initiatives if i["current_stage"] == "pilot"),
        "avg_pilot_age_days": None,
        "n_stuck_pilots": None,
        "delivering_value_amount": sum(
            i["attributed_value_to_date_amount"] or 0.0 for i in delivering
        ),
    }


HEADLINE_MART = "fct_portfolio_headline_monthly"
HEADLINE_COLUMNS = (
    "report_month",
    "share_of_spend_delivering_value",
    "spend_to_date_amount",
    "spend_to_date_delivering_value_amount",
    "value_to_date_amount",
    "net_value_to_date_amount",
)


def headline_from_mart(rows: list[dict], initiatives: list[dict]) -> dict:
    """The headline as the headline mart states it (its latest month), in the report's terms."""
    latest = rows[-1]
    spend = latest["spend_to_date_amount"] or 0.0
    delivering = latest["spend_to_date_delivering_value_amount"] or 0.0
    in_production = [i for i in initiatives if i["current_stage"] in IN_PRODUCTION]
    production_spend = max(sum(i["cost_to_date_amount"] or 0.0 for i in in_production), delivering)
    production_spend = min(production_spend, spend)
    value = latest["value_to_date_amount"] or 0.0
    return {
        "source": f"from marts.{HEADLINE_MART} ({latest['report_month']:%b %Y})",
        "month": latest["report_month"],
        "spend_amount": spend,
        "budget_amount": sum(i["budget_amount"] or 0.0 for i in initiatives),
        "attributed_value_amount": value,
        "net_value_amount": latest.get("net_value_to_date_amount", value - spend),
        "roi": (value - spend) / spend if spend else None,
        "delivering_spend_amount": delivering,
        "production_spend_amount": production_spend,
        "other_spend_amount": spend - production_spend,
        "share_of_spend_delivering": latest["share_of_spend_delivering_value"],
        "n_initiatives": latest.get("n_initiatives", len(initiatives)),
        "n_in_production": latest.get("n_in_production", len(in_production)),
        "n_delivering": latest.get("n_delivering_value"),
        "share_of_initiatives_delivering": latest.get("share_of_initiatives_delivering_value"),
        "n_pilots": latest.get("n_pilots"),
        "avg_pilot_age_days": latest.get("avg_pilot_age_days"),
        "n_stuck_pilots": latest.get("n_stuck_pilots"),
        "delivering_value_amount": None,
    }


def load_report_data(con: duckdb.DuckDBPyConnection, today: dt.date | None = None) -> ReportData:
    today = today or dt.date.today()
    cat = Catalogue(con)
    missing = [t for t in REQUIRED if not cat.has("marts", t)]
    if missing:
        raise ReportDataError(
            f"the warehouse has no marts yet (missing marts.{', marts.'.join(missing)}): "
            "run `valueledger run` first"
        )
    notes: list[str] = []

    def optional(table: str, *columns: str) -> bool:
        if cat.has("marts", table, *columns):
            return True
        notes.append(f"marts.{table} is not in the warehouse: its figures are not available")
        return False

    has_returns = optional("fct_initiative_returns")
    returns_cols = cat.columns.get(("marts", "fct_initiative_returns"), [])
    wanted_returns = [
        "cost_to_date_amount",
        "attributed_value_to_date_amount",
        "attributed_net_value_to_date_amount",
        "attributed_cash_value_to_date_amount",
        "attributed_capacity_value_to_date_amount",
        "attributed_roi",
        "attributed_cash_roi",
        "attributed_npv_amount",
        "attributed_payback_month",
        "attributed_cash_payback_month",
        "attributed_value_run_rate_amount",
        "cost_run_rate_amount",
        "attributed_net_run_rate_amount",
        "n_kpis_measurable_value",
        "n_kpis_no_measurable_value",
        "n_kpis_harmful",
        "n_kpis_insufficient_evidence",
        "as_of_month",
    ]
    select_returns = ", ".join(
        f"r.{c}" if c in returns_cols else f"null as {c}" for c in wanted_returns
    )
    join_returns = (
        "left join marts.fct_initiative_returns as r using (initiative_id)" if has_returns else ""
    )
    if not has_returns:
        select_returns = ", ".join(f"null as {c}" for c in wanted_returns)
    initiatives = _rows(
        con,
        f"select i.*, {select_returns} from marts.dim_initiatives as i {join_returns} "
        "order by i.initiative_id",
    )

    evidence = _evidence(con, cat)
    for ini in initiatives:
        ev = evidence.rows(ini["initiative_id"])
        ini["evidence_status"] = ev[0]["evidence_status"] if ev else None
        ini["evidence_note"] = ev[0].get("evidence_note") if ev else None
        ini["days_in_stage"] = (
            (today - ini["current_stage_entered_on"]).days
            if isinstance(ini.get("current_stage_entered_on"), dt.date)
            else None
        )
        ini["is_delivering"] = bool(
            ini["current_stage"] in IN_PRODUCTION
            and (ini["n_kpis_measurable_value"] or 0) > 0
            and (ini["n_kpis_harmful"] or 0) == 0
        )

    recommendations: dict[str, dict] = {}
    if cat.has("marts", "fct_initiative_recommendations", "initiative_id", "recommendation"):
        recommendations = {
            r["initiative_id"]: r
            for r in _rows(con, "select * from marts.fct_initiative_recommendations")
        }
    for ini in initiatives:
        rec = recommendations.get(ini["initiative_id"], {})
        ini["recommendation"] = rec.get("recommendation")
        ini["is_stuck"] = rec.get("is_stuck")
        if rec.get("days_in_stage") is not None:
            ini["days_in_stage"] = rec["days_in_stage"]

    currency = "EUR"
    portfolio_name = "AI portfolio"
    if cat.has("raw", "portfolio_settings", "portfolio_name", "currency"):
        row = con.execute("select portfolio_name, currency from raw.portfolio_settings").fetchone()
        if row:
            portfolio_name, currency = row
    elif initiatives and initiatives[0].get("currency"):
        currency = initiatives[0]["currency"]

    stages = []
    for stage in STAGES:
        members = [i for i in initiatives if i["current_stage"] == stage]
        stages.append((stage, len(members), sum(i["cost_to_date_amount"] or 0.0 for i in members)))
    unknown = sorted({i["current_stage"] for i in initiatives} - set(STAGES))
    for stage in unknown:
        members = [i for i in initiatives if i["current_stage"] == stage]
        stages.append((stage, len(members), sum(i["cost_to_date_amount"] or 0.0 for i in members)))

    portfolio_monthly: list[dict] = []
    value_monthly: dict[str, list[dict]] = defaultdict(list)
    if optional("fct_initiative_value_monthly"):
        for row in _rows(
            con,
            "select initiative_id, report_month, cost_amount, attributed_value_amount, "
            "cumulative_cost_amount, cumulative_attributed_value_amount, "
            "cumulative_attributed_net_value_amount, attributed_roi "
            "from marts.fct_initiative_value_monthly order by initiative_id, report_month",
        ):
            value_monthly[row["initiative_id"]].append(row)
        portfolio_monthly = _rows(
            con,
            "select report_month, sum(cost_amount) as cost_amount, "
            "sum(coalesce(attributed_value_amount, 0)) as attributed_value_amount "
            "from marts.fct_initiative_value_monthly group by report_month order by report_month",
        )
        cost = value = 0.0
        for row in portfolio_monthly:
            cost += row["cost_amount"] or 0.0
            value += row["attributed_value_amount"] or 0.0
            row["cumulative_cost_amount"] = cost
            row["cumulative_attributed_value_amount"] = value
    as_of = portfolio_monthly[-1]["report_month"] if portfolio_monthly else None

    kpis: dict[str, list[dict]] = defaultdict(list)
    if optional("dim_initiative_kpis"):
        has_effects = optional("fct_initiative_kpi_effects")
        effects = (
            "e.naive_change, e.naive_change_relative, e.attributed_change, "
            "e.attributed_change_relative, e.attributed_favourable_change, e.ci_low, e.ci_high, "
            "e.baseline_value, e.target_change_value, e.naive_attainment, "
            "e.attributed_attainment, e.attributed_value_amount, e.value_ci_low, "
            "e.value_ci_high, e.has_pre_trend, e.evidence_verdict, e.verdict_reason, "
            "e.n_treated_units, e.n_control_units, e.n_cells_used, "
            "e.n_cells_dropped_no_controls, e.n_cells_dropped_too_few_units"
            if has_effects
            else "null as evidence_verdict"
        )
        join_effects = (
            "left join marts.fct_initiative_kpi_effects as e "
            "on k.initiative_id = e.initiative_id and k.kpi_id = e.kpi_id"
            if has_effects
            else ""
        )
        kpi_names = (
            "d.kpi_name, d.unit_of_measure"
            if cat.has("marts", "dim_kpis")
            else "k.kpi_id as kpi_name, '' as unit_of_measure"
        )
        join_kpis = (
            "left join marts.dim_kpis as d on k.kpi_id = d.kpi_id"
            if cat.has("marts", "dim_kpis")
            else ""
        )
        for row in _rows(
            con,
            f"select k.*, {kpi_names}, {effects} from marts.dim_initiative_kpis as k "
            f"{join_kpis} {join_effects} order by k.initiative_id, k.kpi_id",
        ):
            kpis[row["initiative_id"]].append(row)

    kpi_monthly: dict[tuple[str, str], list[dict]] = defaultdict(list)
    if optional("fct_initiative_kpi_monthly"):
        for row in _rows(
            con,
            "select initiative_id, kpi_id, report_month, n_live_units, baseline_value, "
            "actual_value, change_value, target_change_value, attainment, "
            "attributed_change_value, attributed_attainment, attributed_value_amount "
            "from marts.fct_initiative_kpi_monthly order by initiative_id, kpi_id, report_month",
        ):
            actual, change = row["actual_value"], row["attributed_change_value"]
            row["counterfactual_value"] = (
                actual - change if actual is not None and change is not None else None
            )
            kpi_monthly[(row["initiative_id"], row["kpi_id"])].append(row)

    event_study: dict[tuple[str, str], list[dict]] = defaultdict(list)
    if optional("fct_initiative_kpi_event_study"):
        for row in _rows(
            con,
            "select initiative_id, kpi_id, event_month, is_pre_period, favourable_effect, "
            "ci_low, ci_high, n_cells_used "
            "from marts.fct_initiative_kpi_event_study order by initiative_id, kpi_id, event_month",
        ):
            event_study[(row["initiative_id"], row["kpi_id"])].append(row)

    blockers: dict[str, list[dict]] = defaultdict(list)
    for schema, table in (("marts", "fct_initiative_blockers"), ("raw", "portfolio_blockers")):
        if cat.has(schema, table, "initiative_id", "blocker_text", "raised_on"):
            for row in _rows(
                con, f"select * from {schema}.{table} order by initiative_id, raised_on"
            ):
                blockers[row["initiative_id"]].append(row)
            break
    stage_history: dict[str, list[dict]] = defaultdict(list)
    for schema, table in (("marts", "fct_initiative_stages"), ("raw", "portfolio_stages")):
        if cat.has(schema, table, "initiative_id", "stage", "entered_on"):
            for row in _rows(
                con, f"select * from {schema}.{table} order by initiative_id, entered_on"
            ):
                stage_history[row["initiative_id"]].append(row)
            break
    late: dict[str, int] = {}
    if cat.has("marts", "fct_late_baseline_evidence", "initiative_id"):
        late = dict(
            con.execute(
                "select initiative_id, count(*) from marts.fct_late_baseline_evidence group by 1"
            ).fetchall()
        )

    headline_monthly: list[dict] = []
    if cat.has("marts", HEADLINE_MART, *HEADLINE_COLUMNS):
        headline_monthly = _rows(con, f"select * from marts.{HEADLINE_MART} order by report_month")

    return ReportData(
        portfolio_name=portfolio_name,
        currency=currency,
        as_of=as_of,
        initiatives=initiatives,
        headline=(
            headline_from_mart(headline_monthly, initiatives)
            if headline_monthly
            else headline_from_initiatives(initiatives)
        ),
        headline_monthly=headline_monthly,
        recommendations=recommendations,
        stages=stages,
        portfolio_monthly=portfolio_monthly,
        kpis=dict(kpis),
        kpi_monthly=dict(kpi_monthly),
        event_study=dict(event_study),
        value_monthly=dict(value_monthly),
        blockers=dict(blockers),
        stage_history=dict(stage_history),
        late_evidence=late,
        evidence=evidence,
        gates=_section(
            con,
            cat,
            "Phase-gate status",
            ("fct_gate_evaluations",),
            "gate_evaluation",
            columns=(
                "to_stage",
                "check_label",
                "observed_value",
                "threshold",
                "check_status",
                "check_note",
            ),
            order=("check_kind", "check_name"),
        ),
        targets=_section(
            con,
            cat,
            "Original and current targets",
            ("fct_initiative_kpi_targets",),
            "kpi_target",
            columns=(
                "kpi_id",
                "original_target_change",
                "current_target_change",
                "original_target_value",
                "current_target_value",
                "n_target_changes",
                "target_last_changed_at",
                "is_target_lowered_after_go_live",
                "attributed_attainment_of_original",
                "attributed_attainment_of_current",
            ),
            order=("kpi_id",),
        ),
        target_changes=_section(
            con,
            cat,
            "Target changes",
            ("fct_target_changes",),
            "target_change",
            columns=(
                "kpi_id",
                "changed_on",
                "target_change_from",
                "target_change_to",
                "target_value_from",
                "target_value_to",
                "is_target_lowered",
                "is_after_go_live",
                "is_target_lowered_after_go_live",
            ),
            order=("kpi_id", "changed_at", "changed_on"),
        ),
        notes=notes,
        ladder=load_ladder(con, cat.has),
        decision_grade=load_decision_grade(con, cat, _rows, currency),
    )
