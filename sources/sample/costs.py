"""AI costs from the finance ledger: monthly amounts per initiative and cost category.

The monthly pattern follows the stage (build in poc and pilot, licences from pilot, cloud with the
number of live units, people throughout); the whole is scaled to the scenario's share of the
approved budget so totals stay plausible at any portfolio size. One row per initiative-month-
category: a few thousand rows, so a plain loop is fine here.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from sources.portfolio.registry import STAGES, TERMINAL_STAGE, Initiative
from sources.sample.scaling import Scaled
from sources.sample.scenario import Costs

COST_SCHEMA = pa.schema(
    [
        ("initiative_id", pa.string()),
        ("cost_month", pa.date32()),
        ("cost_category", pa.string()),
        ("amount", pa.float64()),
        ("currency", pa.string()),
    ]
)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1)


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def _stage_at(ini: Initiative, day: dt.date) -> str:
    entered = [s for s in STAGES if s in ini.stages and ini.stages[s] <= day]
    return entered[-1] if entered else "idea"


def _month_weights(ini: Initiative, month: dt.date, w) -> dict[str, float]:
    """Relative cost per category in one month (before scaling to the budget)."""
    month_end = next_month(month) - dt.timedelta(days=1)
    killed = ini.stages.get(TERMINAL_STAGE)
    if killed and month > month_start(killed):
        return {"people": w.people}  # wind-down month after a kill
    stage = _stage_at(ini, month_end)
    live = sum(r.go_live <= month_end for r in ini.rollout)
    weights = {"people": w.people}
    if stage in ("poc", "pilot"):
        weights["build"] = w.build
    if stage in ("pilot", "production", "scaled"):
        weights["licence"] = w.licence
    if stage != "idea":
        weights["cloud"] = w.cloud_base + w.cloud_per_live_unit * live
    return {k: v for k, v in weights.items() if v > 0}


def _cost_months(ini: Initiative, data_end: dt.date) -> list[dt.date]:
    first = ini.stages.get("poc") or min(ini.stages.values())
    last = month_start(data_end)
    killed = ini.stages.get(TERMINAL_STAGE)
    if killed:
        last = min(last, next_month(month_start(killed)))
    return _months(first, last)


def cost_table(
    scaled: Scaled, costs: Costs, data_end: dt.date, rng: np.random.Generator
) -> pa.Table:
    reg = scaled.registry
    rows: list[tuple] = []
    for ini in reg.initiatives:
        plan = [
            (month, category, weight)
            for month in _cost_months(ini, data_end)
            for category, weight in _month_weights(ini, month, costs.weights).items()
        ]
        if not plan:
            continue
        total = costs.share(scaled.initiative_origin[ini.initiative_id]) * ini.budget.amount
        scale = total / sum(weight for _, _, weight in plan)
        noise = rng.lognormal(0.0, costs.noise_sd, len(plan))
        for (month, category, weight), factor in zip(plan, noise, strict=True):
            amount = round(max(weight * scale * factor, 0.01), 2)
            rows.append((ini.initiative_id, month, category, amount, ini.budget.currency))
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in COST_SCHEMA]
    return pa.table(
        [pa.array(c, f.type) for c, f in zip(columns, COST_SCHEMA, strict=True)], schema=COST_SCHEMA
    )
