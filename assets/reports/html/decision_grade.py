"""What the report's decision-grade section shows (docs/method.md "Decision-grade statistics").

The honest portfolio roll-up from reports.rpt_portfolio_decision_grade (naive and shrunk totals,
median CUPED interval narrowing, fragile estimates), the value decay incidents and, per
initiative x KPI, the adjusted interval, the sensitivity breakdown and the shrunk effect. Every
mart is optional: what is missing is named in `missing` and the section says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PORTFOLIO = ("reports", "rpt_portfolio_decision_grade")
INCIDENTS = ("marts", "fct_value_decay_incidents")
PER_KPI = {  # mart -> the columns the initiative page shows
    "fct_initiative_kpi_adjusted_effects": (
        "adjusted_favourable_change",
        "adjusted_ci_low",
        "adjusted_ci_high",
        "interval_width_ratio",
    ),
    "fct_initiative_kpi_sensitivity": ("breakdown_m", "is_fragile", "sensitivity_note"),
    "fct_initiative_kpi_shrunk_effects": (
        "is_in_fit",
        "relative_effect",
        "shrinkage_weight",
        "shrunk_relative_effect",
        "shrunk_favourable_change",
        "shrunk_value_amount",
    ),
}


@dataclass
class DecisionGrade:
    portfolio: dict | None = None  # the roll-up row in the report's currency
    other_currencies: list[str] = field(default_factory=list)
    incidents: list[dict] = field(default_factory=list)  # every incident, oldest first
    per_kpi: dict[tuple[str, str], dict] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def open_incidents(self) -> list[dict]:
        return [i for i in self.incidents if i.get("is_open", True)]

    def incidents_of(self, initiative_id: str) -> list[dict]:
        return [i for i in self.incidents if i["initiative_id"] == initiative_id]

    def kpi(self, initiative_id: str, kpi_id: str) -> dict:
        return self.per_kpi.get((initiative_id, kpi_id), {})


def load_decision_grade(con, cat, rows, currency: str) -> DecisionGrade:
    """Read the decision-grade marts through `con`; `cat` is the report's Catalogue and `rows`
    its query helper (data.py), passed in so this module does not import data.py."""
    dg = DecisionGrade()
    if cat.has(*PORTFOLIO, "currency", "naive_value_amount", "shrunk_value_amount"):
        roll_up = rows(con, f"select * from {'.'.join(PORTFOLIO)} order by currency")
        dg.portfolio = next((r for r in roll_up if r["currency"] == currency), None)
        dg.other_currencies = [r["currency"] for r in roll_up if r["currency"] != currency]
    else:
        dg.missing.append(".".join(PORTFOLIO))
    if cat.has(*INCIDENTS, "incident_id", "initiative_id"):
        dg.incidents = rows(
            con, f"select * from {'.'.join(INCIDENTS)} order by detected_month, incident_id"
        )
    else:
        dg.missing.append(".".join(INCIDENTS))
    for table, columns in PER_KPI.items():
        if not cat.has("marts", table, "initiative_id", "kpi_id", *columns):
            dg.missing.append(f"marts.{table}")
            continue
        for row in rows(
            con, f"select initiative_id, kpi_id, {', '.join(columns)} from marts.{table}"
        ):
            key = (row.pop("initiative_id"), row.pop("kpi_id"))
            dg.per_kpi.setdefault(key, {}).update(row)
    return dg
