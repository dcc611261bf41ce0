"""The HTML value report: pages, escaping, self-containment, the atomic swap, missing marts, CLI.

Most tests build a small warehouse whose marts have exactly the columns and types of the dbt
contracts (read from `_marts__models.yml`), filled with a few rows, some of them hostile. One
test reads the full run of `built_home` and checks the headline against the marts.
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from assets.reports.html import ReportDataError, build_report, build_report_from_path
from assets.reports.html import charts as ch
from assets.reports.html.render import page_name

REPO = Path(__file__).resolve().parents[2]
MARTS_DIR = REPO / "dbt_project" / "models" / "marts"

SCRIPT = "<script>alert(1)</script>"
DROP = "'; drop table marts.dim_initiatives; --"
IMG = '<img src=x onerror="alert(2)">'
SVG = '"><svg onload=alert(3)>'


CORE_MARTS = (
    "dim_initiatives",
    "dim_kpis",
    "dim_units",
    "dim_initiative_kpis",
    "fct_initiative_kpi_monthly",
    "fct_initiative_value_monthly",
    "fct_initiative_kpi_effects",
    "fct_initiative_kpi_event_study",
    "fct_late_baseline_evidence",
    "fct_initiative_returns",
)


def _contract_columns() -> dict[str, list[tuple[str, str]]]:
    """Columns and types of every mart with a contract, from the marts' yml files."""
    contracts = {}
    for path in sorted(MARTS_DIR.glob("_*.yml")):
        for m in yaml.safe_load(path.read_text()).get("models", []):
            if m.get("columns") and all(c.get("data_type") for c in m["columns"]):
                contracts[m["name"]] = [(c["name"], c["data_type"]) for c in m["columns"]]
    return contracts


def _optional_table(con, contracts: dict, table: str, rows: list[dict]) -> None:
    """A mart another part of the project adds: as its contract says when it has one, else
    with the columns of the rows (so these tests do not depend on when it lands)."""
    if table in contracts:
        ddl = ", ".join(f'"{c}" {t}' for c, t in contracts[table])
        con.execute(f"create table marts.{table} ({ddl})")
        rows = [{k: v for k, v in r.items() if k in dict(contracts[table])} for r in rows]
        _insert(con, table, contracts[table], rows)
        return
    frame = pd.DataFrame(rows)  # noqa: F841 - read by DuckDB below
    con.execute(f"create table marts.{table} as select * from frame")


def _insert(con, table: str, columns: list[tuple[str, str]], rows: list[dict]) -> None:
    names = [c for c, _ in columns]
    unknown = {k for r in rows for k in r} - set(names)
    assert not unknown, f"{table} has no columns {unknown} in its contract"
    for row in rows:
        con.execute(
            f"insert into marts.{table} values ({', '.join('?' for _ in names)})",
            [row.get(c) for c in names],
        )


def make_warehouse(path: Path, hostile: bool = True, optional_marts: bool = False) -> Path:
    """Marts as the contracts define them, two initiatives (one hostile), a few months."""
    contracts = _contract_columns()
    name = SCRIPT if hostile else "Agent assist"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema raw")
        for table in CORE_MARTS:
            columns = contracts[table]
            ddl = ", ".join(f'"{c}" {t}' for c, t in columns)
            con.execute(f"create table marts.{table} ({ddl})")
        con.execute(
            "create table raw.portfolio_settings as select ? as portfolio_name, "
            "'EUR' as currency, date '2024-11-01' as data_starts_on, 0.08 as discount_rate",
            ["Halden <b>Group</b> & Co" if hostile else "Halden Group"],
        )
        con.execute(
            "create table raw.portfolio_blockers as select 'a-assist' as initiative_id, "
            "date '2025-05-12' as raised_on, ? as blocker_text, null::date as resolved_on",
            [IMG if hostile else "Vendor contract"],
        )
        con.execute(
            "create table raw.portfolio_stages as select * from (values "
            "('a-assist', 'pilot', 3, date '2024-10-07'), "
            "('a-assist', 'production', 4, date '2025-06-02'), "
            "('b-drop', 'pilot', 3, date '2025-02-03')) as t(initiative_id, stage, stage_order, "
            "entered_on)"
        )
        base = {"currency": "EUR", "baseline_days": 90, "ramp_up_days": 28}
        _insert(
            con,
            "dim_initiatives",
            contracts["dim_initiatives"],
            [
                {
                    **base,
                    "initiative_id": "a-assist",
                    "initiative_name": name,
                    "business_unit": "customer-service",
                    "owner_name": SVG if hostile else "Priya",
                    "priority": "high",
                    "strategic_theme": "Productivity",
                    "current_stage": "production",
                    "current_stage_entered_on": dt.date(2025, 6, 2),
                    "budget_amount": 480000.0,
                    "n_units_rolled_out": 4,
                    "n_kpis": 1,
                },
                {
                    **base,
                    "initiative_id": "b-drop",
                    "initiative_name": DROP if hostile else "Chatbot",
                    "business_unit": "customer-service",
                    "owner_name": "Tom",
                    "priority": "low",
                    "strategic_theme": "Cost",
                    "current_stage": "pilot",
                    "current_stage_entered_on": dt.date(2025, 2, 3),
                    "budget_amount": 100000.0,
                    "n_units_rolled_out": 0,
                    "n_kpis": 0,
                },
            ],
        )
        _insert(
            con,
            "dim_kpis",
            contracts["dim_kpis"],
            [
                {
                    "kpi_id": "aht_minutes",
                    "kpi_name": SVG if hostile else "Average handling time",
                    "unit_of_measure": "minutes",
                    "aggregation": "mean",
                    "is_higher_better": False,
                }
            ],
        )
        _insert(
            con,
            "dim_initiative_kpis",
            contracts["dim_initiative_kpis"],
            [
                {
                    "initiative_id": "a-assist",
                    "kpi_id": "aht_minutes",
                    "direction": "decrease",
                    "target_type": "relative",
                    "target_change": -0.12,
                    "value_per_unit": 0.85,
                    "value_driver": "time",
                    "is_cash": False,
                }
            ],
        )
        months = [dt.date(2025, m, 1) for m in range(5, 13)]
        _insert(
            con,
            "fct_initiative_kpi_monthly",
            contracts["fct_initiative_kpi_monthly"],
            [
                {
                    "initiative_id": "a-assist",
                    "kpi_id": "aht_minutes",
                    "report_month": m,
                    "direction": "decrease",
                    "n_live_units": 4,
                    "baseline_value": 9.0,
                    "actual_value": 8.0 - 0.05 * i,
                    "target_change_value": -1.08,
                    "attributed_change_value": None if i == 0 else -0.9,
                    "attributed_value_amount": None if i == 0 else 1000.0,
                    "currency": "EUR",
                }
                for i, m in enumerate(months)
            ],
        )
        _insert(
            con,
            "fct_initiative_kpi_event_study",
            contracts["fct_initiative_kpi_event_study"],
            [
                {
                    "initiative_id": "a-assist",
                    "kpi_id": "aht_minutes",
                    "event_month": e,
                    "is_pre_period": e < 0,
                    "favourable_effect": 0.0 if e < 0 else 0.9,
                    "ci_low": -0.3 if e < 0 else 0.6,
                    "ci_high": 0.3 if e < 0 else 1.2,
                    "n_cells_used": 2,
                }
                for e in (-3, -2, -1, 1, 2, 3, 4)
            ],
        )
        _insert(
            con,
            "fct_initiative_kpi_effects",
            contracts["fct_initiative_kpi_effects"],
            [
                {
                    "initiative_id": "a-assist",
                    "kpi_id": "aht_minutes",
                    "direction": "decrease",
                    "currency": "EUR",
                    "baseline_value": 9.0,
                    "naive_change": -1.2,
                    "attributed_change": -0.9,
                    "attributed_favourable_change": 0.9,
                    "ci_low": 0.6,
                    "ci_high": 1.2,
                    "target_change_value": -1.08,
                    "attributed_attainment": 0.83,
                    "naive_attainment": 1.11,
                    "attributed_value_amount": 7000.0,
                    "has_pre_trend": False,
                    "evidence_verdict": "measurable value",
                    "verdict_reason": "95% interval of the favourable change lies above zero",
                }
            ],
        )
        _insert(
            con,
            "fct_initiative_value_monthly",
            contracts["fct_initiative_value_monthly"],
            [
                {
                    "initiative_id": ini,
                    "report_month": m,
                    "currency": "EUR",
                    "cost_amount": cost,
                    "attributed_value_amount": (1000.0 if ini == "a-assist" and i else 0.0),
                    "cumulative_cost_amount": cost * (i + 1),
                    "cumulative_attributed_value_amount": (
                        1000.0 * i if ini == "a-assist" else 0.0
                    ),
                }
                for ini, cost in (("a-assist", 500.0), ("b-drop", 250.0))
                for i, m in enumerate(months)
            ],
        )
        _insert(
            con,
            "fct_initiative_returns",
            contracts["fct_initiative_returns"],
            [
                {
                    "initiative_id": "a-assist",
                    "currency": "EUR",
                    "as_of_month": dt.date(2025, 12, 1),
                    "cost_to_date_amount": 4000.0,
                    "attributed_value_to_date_amount": 7000.0,
                    "attributed_net_value_to_date_amount": 3000.0,
                    "attributed_roi": 0.75,
                    "n_kpis": 1,
                    "n_kpis_measurable_value": 1,
                    "n_kpis_harmful": 0,
                },
                {
                    "initiative_id": "b-drop",
                    "currency": "EUR",
                    "as_of_month": dt.date(2025, 12, 1),
                    "cost_to_date_amount": 2000.0,
                    "attributed_value_to_date_amount": 0.0,
                    "attributed_net_value_to_date_amount": -2000.0,
                    "attributed_roi": -1.0,
                    "n_kpis": 0,
                    "n_kpis_measurable_value": 0,
                    "n_kpis_harmful": 0,
                },
            ],
        )
        if optional_marts:
            # Part of the dim_initiatives contract now; older warehouses lack them.
            con.execute(
                "alter table marts.dim_initiatives add column if not exists evidence_status varchar"
            )
            con.execute(
                "alter table marts.dim_initiatives add column if not exists evidence_note varchar"
            )
            con.execute(
                "update marts.dim_initiatives set evidence_status = 'warn', evidence_note = ?",
                [f"verified with warnings: {SCRIPT}"],
            )
            _optional_marts(con, contracts)
    return path


def _optional_marts(con, contracts: dict) -> None:
    """Gate evaluations, recommendations, target history and the headline, as the phase-gate
    marts define them."""
    gate = {"as_of_date": dt.date(2025, 12, 31), "current_stage": "production"}
    _optional_table(
        con,
        contracts,
        "fct_gate_evaluations",
        [
            {
                **gate,
                "initiative_id": "a-assist",
                "check_name": "min_attainment",
                "check_kind": "gate",
                "from_stage": "production",
                "to_stage": "scaled",
                "check_label": SVG,
                "observed_value": 0.83,
                "threshold": 0.8,
                "check_status": "pass",
                "is_passed": True,
                "check_note": "attainment 83% of target, at least 80% required",
                "evidence_status": "warn",
                "recommendation": "advance",
            }
        ],
    )
    _optional_table(
        con,
        contracts,
        "fct_initiative_recommendations",
        [
            {
                **gate,
                "initiative_id": ini,
                "initiative_name": name,
                "next_stage": nxt,
                "recommendation": rec,
                "decision_rule": rule,
                "recommendation_reason": reason,
                "n_gate_criteria": 3,
                "n_gate_criteria_passed": passed,
                "evidence_status": "warn",
                "days_in_stage": days,
                "is_stuck": stuck,
            }
            for ini, name, nxt, rec, rule, reason, passed, days, stuck in (
                (
                    "a-assist",
                    SCRIPT,
                    "scaled",
                    "advance",
                    "gate passed",
                    "All pass.",
                    3,
                    200,
                    False,
                ),
                ("b-drop", DROP, "production", "hold", "no effect yet", IMG, 1, 330, True),
            )
        ],
    )
    _optional_table(
        con,
        contracts,
        "fct_initiative_kpi_targets",
        [
            {
                "initiative_id": "a-assist",
                "kpi_id": "aht_minutes",
                "direction": "decrease",
                "original_target_type": "relative",
                "original_target_change": -0.15,
                "current_target_type": "relative",
                "current_target_change": -0.12,
                "original_target_value": -1.35,
                "current_target_value": -1.08,
                "n_target_changes": 1,
                "is_target_lowered": True,
                "is_target_lowered_after_go_live": True,
                "attributed_change": -0.9,
                "attributed_attainment_of_original": 0.67,
                "attributed_attainment_of_current": 0.83,
            }
        ],
    )
    _optional_table(
        con,
        contracts,
        "fct_target_changes",
        [
            {
                "initiative_id": "a-assist",
                "kpi_id": "aht_minutes",
                "changed_at": dt.datetime(2025, 8, 1, 6),
                "changed_on": dt.date(2025, 8, 1),
                "target_type_from": "relative",
                "target_change_from": -0.15,
                "target_type_to": "relative",
                "target_change_to": -0.12,
                "is_target_lowered": True,
                "first_go_live_on": dt.date(2025, 4, 7),
                "is_after_go_live": True,
                "is_target_lowered_after_go_live": True,
            }
        ],
    )
    _optional_table(
        con,
        contracts,
        "fct_portfolio_headline_monthly",
        [
            {
                "report_month": month,
                "month_end_on": end,
                "currency": "EUR",
                "n_initiatives": 2,
                "n_in_production": 1,
                "n_delivering_value": delivering,
                "share_of_initiatives_delivering_value": delivering / 2,
                "spend_to_date_amount": spend,
                "spend_to_date_delivering_value_amount": 4000.0 * delivering,
                "share_of_spend_delivering_value": 4000.0 * delivering / spend,
                "n_pilots": 1,
                "avg_pilot_age_days": 300.0,
                "n_stuck_pilots": 1,
                "value_to_date_amount": 7000.0,
                "net_value_to_date_amount": 7000.0 - spend,
            }
            for month, end, delivering, spend in (
                (dt.date(2025, 11, 1), dt.date(2025, 11, 30), 0, 5000.0),
                (dt.date(2025, 12, 1), dt.date(2025, 12, 31), 1, 6000.0),
            )
        ],
    )
    _decision_grade_marts(con, contracts)


SHRUNK_VALUE = 6829.0  # a-assist's 7,000 attributed value with its effect shrunk


def _decision_grade_marts(con, contracts: dict) -> None:
    """The decision-grade marts and their roll-up (docs/method.md "Decision-grade statistics"):
    a-assist's effect is CUPED-narrowed, fragile and shrunk; one open and one cleared decay."""
    key = {"initiative_id": "a-assist", "kpi_id": "aht_minutes"}
    estimate = {"attributed_favourable_change": 0.9, "ci_low": 0.6, "ci_high": 1.2}
    _optional_table(
        con,
        contracts,
        "fct_initiative_kpi_adjusted_effects",
        [
            {
                **key,
                **estimate,
                "n_theta_unit_months": 120,
                "cuped_theta": 0.7,
                "standard_error": 0.15,
                "adjusted_favourable_change": 0.87,
                "adjusted_standard_error": 0.09,
                "adjusted_ci_low": 0.69,
                "adjusted_ci_high": 1.05,
                "interval_width_ratio": 0.6,
            }
        ],
    )
    _optional_table(
        con,
        contracts,
        "fct_initiative_kpi_sensitivity",
        [
            {
                **key,
                **estimate,
                "n_pre_periods": 3,
                "max_pre_period_deviation": 0.75,
                "breakdown_m": 0.8,
                "is_fragile": True,
                "sensitivity_note": f"breakdown below 1 {SCRIPT}",
            }
        ],
    )
    _optional_table(
        con,
        contracts,
        "fct_initiative_kpi_shrunk_effects",
        [
            {
                **key,
                "currency": "EUR",
                "is_in_fit": True,
                "n_in_fit": 3,
                "relative_effect": 0.1,
                "relative_standard_error": 0.017,
                "prior_mean": 0.062,
                "prior_sd": 0.065,
                "shrinkage_weight": 0.936,
                "shrunk_relative_effect": 0.0976,
                "attributed_favourable_change": 0.9,
                "shrunk_favourable_change": 0.878,
                "attributed_value_amount": 7000.0,
                "shrunk_value_amount": SHRUNK_VALUE,
            }
        ],
    )
    _optional_table(
        con,
        contracts,
        "fct_value_decay_incidents",
        [
            {
                **key,
                "incident_id": f"a-assist|aht_minutes|{month}",
                "detected_month": month,
                "cleared_month": cleared,
                "is_open": cleared is None,
                "earlier_favourable_change": 0.9,
                "recent_favourable_change": recent,
                "difference": recent - 0.9,
                "standard_error": 0.1,
                "t_statistic": (recent - 0.9) / 0.1,
                "evidence": f"decline {IMG}",
            }
            for month, cleared, recent in (
                (dt.date(2025, 8, 1), dt.date(2025, 9, 1), 0.5),
                (dt.date(2025, 11, 1), None, 0.4),
            )
        ],
    )
    con.execute("create schema reports")
    con.execute(
        "create table reports.rpt_portfolio_decision_grade as select 'EUR' as currency, "
        "1 as n_estimates, 3 as n_in_fit, 0.062 as prior_mean_relative_effect, "
        "0.065 as prior_sd_relative_effect, 7000.0 as naive_value_amount, "
        f"{SHRUNK_VALUE} as shrunk_value_amount, {SHRUNK_VALUE - 7000} as "
        "shrinkage_adjustment_amount, 1 as n_adjusted_estimates, "
        "0.6 as median_interval_width_ratio, 1 as n_fragile_estimates, 1 as n_assessed_estimates"
    )


@pytest.fixture
def warehouse(tmp_path) -> Path:
    return make_warehouse(tmp_path / "warehouse.duckdb")


def _build(warehouse: Path, target: Path, **kwargs):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return build_report(con, target, **kwargs)


class _TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, [name for name, _ in attrs]))


def _tags(html: str) -> list[tuple[str, list[str]]]:
    parser = _TagCollector()
    parser.feed(html)
    return parser.tags


def _pages(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*.html"))
    }


def test_report_has_an_overview_and_a_page_per_initiative(warehouse, tmp_path):
    target = tmp_path / "reports" / "value_report"
    result = _build(warehouse, target, run_id="run-1")
    assert result.index == target / "index.html" and result.index.is_file()
    pages = _pages(target)
    assert set(pages) == {"index.html", "initiatives/a-assist.html", "initiatives/b-drop.html"}
    overview = pages["index.html"]
    for heading in ("Value against investment", "Pipeline of stages", "Initiatives"):
        assert heading in overview
    # The headline: 4,000 of 6,000 spent is in production and delivering.
    assert re.search(r'id="headline-share">67%<', overview)
    page = pages["initiatives/a-assist.html"]
    for heading in ("Value, costs and net", "Target attainment", "Gate status", "Evidence status"):
        assert heading in page
    assert page.count('<svg class="chart"') == 5  # waterfall, cumulative, 2 per KPI, attainment
    assert result.pages == 3 and result.charts == 4 + 5 + 3


def test_registry_text_is_escaped_everywhere(tmp_path):
    warehouse = make_warehouse(tmp_path / "w.duckdb", optional_marts=True)
    target = tmp_path / "value_report"
    _build(warehouse, target)
    pages = _pages(target)
    everything = "\n".join(pages.values())
    for hostile in (SCRIPT, IMG, SVG, "<b>Group</b>"):
        assert hostile not in everything, hostile
    for rel, html in pages.items():
        tags = _tags(html)
        assert not {t for t, _ in tags} & {"script", "img", "iframe", "object", "embed", "b"}, rel
        handlers = [(t, a) for t, attrs in tags for a in attrs if a.lower().startswith("on")]
        assert not handlers, (rel, handlers)  # no event handler attribute anywhere
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["index.html"]
    assert "&#39;; drop table marts.dim_initiatives; --" in pages["index.html"]
    page = pages["initiatives/a-assist.html"]
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in page  # blocker text
    assert "&#34;&gt;&lt;svg onload=alert(3)&gt;" in page  # KPI name, in text and in the SVG
    assert "Halden &lt;b&gt;Group&lt;/b&gt; &amp; Co" in page


def test_ids_that_are_not_slugs_get_a_safe_file_name():
    assert page_name("cs-agent-assist") == "cs-agent-assist.html"
    for hostile in ("../../etc/passwd", "a/b", ".hidden", "<x>", ""):
        name = page_name(hostile)
        assert re.fullmatch(r"i-[0-9a-f]{16}\.html", name), name


def test_report_is_self_contained(tmp_path):
    warehouse = make_warehouse(tmp_path / "w.duckdb", hostile=False)
    target = tmp_path / "value_report"
    _build(warehouse, target)
    for rel, html in _pages(target).items():
        without_ns = html.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "http://" not in without_ns and "https://" not in without_ns, rel
        assert "<link" not in html and " src=" not in html and "@import" not in html, rel
        assert "url(" not in html, rel
        for href in re.findall(r'href="([^"]+)"', html):
            assert not href.startswith(("/", "file:", "//")), href
            linked = (target / rel).parent / href.split("#")[0]
            assert linked.resolve().is_file(), f"{rel} links to missing {href}"


def test_missing_optional_marts_say_not_available(warehouse, tmp_path):
    target = tmp_path / "value_report"
    result = _build(warehouse, target)
    page = (target / "initiatives" / "a-assist.html").read_text()
    # Evidence status is in the dim_initiatives contract, so only these marts can be missing.
    for title in ("Phase-gate status", "Target changes"):
        assert f"{title}: not available" in page
        assert any(n.startswith(title) for n in result.notes)


def test_optional_marts_are_shown_when_present(tmp_path):
    warehouse = make_warehouse(tmp_path / "w.duckdb", optional_marts=True)
    target = tmp_path / "value_report"
    result = _build(warehouse, target)
    overview = (target / "index.html").read_text()
    assert "marts.fct_portfolio_headline_monthly (Dec 2025)" in overview
    assert re.search(r'id="headline-share">67%<', overview)
    assert "1 stuck" in overview and '<span class="badge good">advance</span>' in overview
    page = (target / "initiatives" / "a-assist.html").read_text()
    assert "not available" not in page
    for source in ("fct_gate_evaluations", "fct_target_changes", "fct_initiative_kpi_targets"):
        assert f"marts.{source}" in page
    assert "<th>Is target lowered after go live</th>" in page and "<td>-0.15</td>" in page
    assert "3 of 3 gate criteria passed" in page
    assert '<span class="badge warn">warn</span>' in page
    assert not [n for n in result.notes if "not available" in n]


def test_decision_grade_section_states_its_marts(tmp_path):
    warehouse = make_warehouse(tmp_path / "w.duckdb", optional_marts=True)
    target = tmp_path / "value_report"
    _build(warehouse, target)
    overview = (target / "index.html").read_text()
    assert 'id="dg-naive">€7,000<' in overview and 'id="dg-shrunk">€6,829<' in overview
    assert 'id="dg-adjustment">-€171<' in overview
    assert 'id="dg-width-ratio">0.6<' in overview and "intervals 40.0% narrower" in overview
    assert 'id="dg-fragile">1<' in overview and "fragile estimates of 1 assessed" in overview
    assert 'id="dg-open-incidents">1<' in overview and "1 cleared" in overview
    incidents = overview.split('id="decay-incidents"')[1].split("</table>")[0]
    assert incidents.count("<tr>") == 2  # the header and the open incident only
    assert "Nov 2025" in incidents and "Aug 2025" not in incidents
    page = (target / "initiatives" / "a-assist.html").read_text()
    row = page.split('id="dg-aht_minutes"')[1].split("</tr>")[0]
    for text in ("+0.9 [0.6, 1.2]", "+0.87 [0.69, 1.05]", "0.6", "0.8", "fragile", "€6,829"):
        assert text in row, text
    assert "+10.0%" in row and "+9.8% (0.936)" in row
    assert "Value decay</strong> on aht_minutes since Nov 2025" in page
    assert "Value decay (cleared)</strong> on aht_minutes since Aug 2025" in page
    b_page = (target / "initiatives" / "b-drop.html").read_text()
    assert "dg-" not in b_page and "Value decay" not in b_page


def test_decision_grade_section_without_its_marts_says_so(warehouse, tmp_path):
    target = tmp_path / "value_report"
    result = _build(warehouse, target)
    overview = (target / "index.html").read_text()
    assert "Honest portfolio roll-up: not available" in overview
    page = (target / "initiatives" / "a-assist.html").read_text()
    assert "Decision-grade evidence: not available (no reports.rpt_portfolio_decision_grade" in page
    assert any(n.startswith("Decision-grade statistics: not available") for n in result.notes)


def test_a_later_build_is_swapped_in_whole_and_old_versions_are_pruned(warehouse, tmp_path):
    target = tmp_path / "value_report"
    first = _build(warehouse, target)
    held = (target / "index.html").open()  # a reader of the first version
    versions = [_build(warehouse, target).folder for _ in range(4)]
    assert target.is_symlink() and target.resolve() == versions[-1].resolve()
    assert held.read().rstrip().endswith("</html>")
    held.close()
    kept = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".value_report-"))
    assert kept == sorted(v.name for v in versions[-3:])
    assert not first.folder.exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name or ".link-" in p.name]


def test_a_report_that_fails_leaves_the_previous_one(warehouse, tmp_path, monkeypatch):
    target = tmp_path / "value_report"
    first = _build(warehouse, target)
    from assets.reports.html import render

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(render, "render_pages", broken)
    with pytest.raises(RuntimeError, match="boom"):
        _build(warehouse, target)
    assert target.resolve() == first.folder.resolve()
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_a_warehouse_without_marts_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(ReportDataError, match="run `valueledger run` first"):
        build_report_from_path(empty, tmp_path / "value_report")
    assert not (tmp_path / "value_report").exists()


def test_cli_report_prints_the_path_or_says_what_to_do(tmp_path, monkeypatch, capsys):
    from orchestration import cli

    home = tmp_path / "home"
    for var in ("VALUELEDGER_WAREHOUSE", "VALUELEDGER_REPORTS", "VALUELEDGER_ENV"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("VALUELEDGER_HOME", str(home))
    assert cli.main(["report"]) == 1
    assert "run `valueledger run` first" in capsys.readouterr().err
    home.mkdir()
    make_warehouse(home / "warehouse.duckdb", hostile=False)
    assert cli.main(["report"]) == 0
    out = capsys.readouterr().out
    index = home / "reports" / "value_report" / "index.html"
    assert f"report: {index}" in out and index.as_uri() in out
    assert index.is_file()


def test_charts_draw_what_they_are_given_and_say_when_there_is_nothing():
    assert ch.nice_ticks(0, 1.16, 4)[-1] >= 1.16
    assert ch.nice_ticks(-3.2, 7.9)[0] <= -3.2
    assert ch.nice_ticks(5, 5) == sorted(ch.nice_ticks(5, 5))
    empty = ch.xy_chart(ch.XYChart("t", lines=[ch.Line("a", [(0, None), (1, None)], "#000")]))
    assert "chart-empty" in empty and "no data" in empty
    line = ch.xy_chart(
        ch.XYChart("t", lines=[ch.Line("a", [(0, 1.0), (1, None), (2, 3.0), (3, 4.0)], "#000")])
    )
    assert line.count("<polyline") == 1 and line.count("<circle") == 1  # a gap splits the line
    fall = ch.waterfall("w", [("A", 10.0, "value"), ("Net", 10.0, "total")], str)
    assert fall.count('class="bar"') == 2
    assert "chart-empty" in ch.bar_chart("b", [], [("x", "#000")], str)


def test_the_asset_materialises_the_report_alone(warehouse, tmp_path):
    import dagster as dg

    from orchestration.settings import apply_to_environ, get_settings

    apply_to_environ(get_settings())  # dbt on PATH, should the manifest need a parse
    from assets.quality.evidence_checks import ASSET_KEY as EVIDENCE_GATES
    from assets.reports.html_report import value_report
    from orchestration.resources import Inputs, Warehouse

    deps = value_report.asset_deps[dg.AssetKey("value_report")]
    assert EVIDENCE_GATES in deps  # held back by the blocking evidence checks
    assert dg.AssetKey(["marts", "fct_initiative_kpi_event_study"]) in deps
    reports = tmp_path / "reports"
    result = dg.materialize(
        [value_report],
        resources={
            "warehouse": Warehouse(path=str(warehouse)),
            "inputs": Inputs(
                registry_path="-", sources_config="-", sources_dir="-", reports_dir=str(reports)
            ),
        },
    )
    assert result.success
    metadata = result.asset_materializations_for_node("value_report")[0].metadata
    assert metadata["path"].value == str(reports / "value_report" / "index.html")
    assert metadata["pages"].value == 3
    assert (reports / "value_report" / "initiatives" / "b-drop.html").is_file()


def test_report_of_the_full_run_states_the_marts_figures(built_home, tmp_path):
    """The sample portfolio: every initiative has a page, and the headline and the totals
    are the marts' (the headline mart when present, the semantic layer's definition else)."""
    target = tmp_path / "value_report"
    with duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True) as con:
        result = build_report(con, target)
        ids = [
            r[0] for r in con.execute("select initiative_id from marts.dim_initiatives").fetchall()
        ]
        # share_of_investment_delivering as dbt_project/models/semantic defines it
        share, value = con.execute(
            "select sum(case when i.current_stage in ('production', 'scaled') "
            "and r.n_kpis_measurable_value > 0 and r.n_kpis_harmful = 0 "
            "then r.cost_to_date_amount else 0 end) / sum(r.cost_to_date_amount), "
            "sum(r.attributed_value_to_date_amount) "
            "from marts.fct_initiative_returns as r "
            "inner join marts.dim_initiatives as i using (initiative_id)"
        ).fetchone()
        has_mart = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'marts' and table_name = 'fct_portfolio_headline_monthly'"
        ).fetchone()[0]
        if has_mart:
            mart_share = con.execute(
                "select share_of_spend_delivering_value from marts.fct_portfolio_headline_monthly "
                "order by report_month desc limit 1"
            ).fetchone()[0]
            assert mart_share == pytest.approx(share)
    assert len(ids) == 13 and result.pages == 14
    for initiative_id in ids:
        assert (target / "initiatives" / f"{initiative_id}.html").is_file()
    overview = (target / "index.html").read_text()
    assert f'id="headline-share">{share:.0%}<' in overview
    assert f"€{value / 1e6:,.2f}m" in overview


def test_report_of_the_full_run_states_the_decision_grade_marts(built_home, tmp_path):
    """The sample portfolio's honest roll-up and per-KPI shrunk values, as the marts state them."""
    from assets.reports.html.render import Formats

    f = Formats("EUR")
    target = tmp_path / "value_report"
    with duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True) as con:
        build_report(con, target)
        roll_up = con.execute(
            "select * from reports.rpt_portfolio_decision_grade where currency = 'EUR'"
        ).df()
        shrunk = con.execute(
            "select initiative_id, kpi_id, shrunk_value_amount "
            "from marts.fct_initiative_kpi_shrunk_effects"
        ).fetchall()
        n_open = con.execute(
            "select count(*) from marts.fct_value_decay_incidents where is_open"
        ).fetchone()[0]
    (p,) = roll_up.to_dict("records")
    overview = (target / "index.html").read_text()
    assert f'id="dg-naive">{f.money_full(p["naive_value_amount"])}<' in overview
    assert f'id="dg-shrunk">{f.money_full(p["shrunk_value_amount"])}<' in overview
    assert f'id="dg-width-ratio">{f.num(p["median_interval_width_ratio"])}<' in overview
    assert f'id="dg-fragile">{p["n_fragile_estimates"]}<' in overview
    assert f'id="dg-open-incidents">{n_open}<' in overview
    assert len(shrunk) >= 9
    for initiative_id, kpi_id, value in shrunk:
        page = (target / "initiatives" / f"{initiative_id}.html").read_text()
        row = page.split(f'id="dg-{kpi_id}"')[1].split("</tr>")[0]
        assert f"{f.money_full(value)}</td></tr>" in row + "</tr>", (initiative_id, kpi_id)
