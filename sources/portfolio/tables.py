"""Flatten the registry into the raw.portfolio_* tables that dbt reads.

Each table is a list of plain dicts with a fixed column order: small frames, written whole on
every run (the registry is the source of truth; dbt snapshots keep its history).
"""

from __future__ import annotations

from sources.portfolio.plans import RolloutPlan
from sources.portfolio.registry import GATES, Registry
from sources.portfolio.signoffs import SIGNOFF_COLUMNS, Signoff, signoff_rows

# Column order of each table; the loader creates the tables from these.
PORTFOLIO_COLUMNS: dict[str, dict[str, str]] = {
    "portfolio_initiatives": {
        "initiative_id": "varchar",
        "initiative_name": "varchar",
        "business_unit": "varchar",
        "owner": "varchar",
        "priority": "varchar",
        "strategic_theme": "varchar",
        "current_stage": "varchar",
        "current_stage_entered_on": "date",
        "budget_amount": "double",
        "currency": "varchar",
        "baseline_days": "integer",
        "ramp_up_days": "integer",
        "min_observations": "integer",
        "baseline_grace_days": "integer",
        "horizon_months": "integer",
        "run_rate_months": "integer",
        "adoption_window_days": "integer",
    },
    "portfolio_stages": {
        "initiative_id": "varchar",
        "stage": "varchar",
        "stage_order": "integer",
        "entered_on": "date",
    },
    "portfolio_initiative_kpis": {
        "initiative_id": "varchar",
        "kpi_id": "varchar",
        "direction": "varchar",
        "target_type": "varchar",
        "target_change": "double",
        "value_per_unit": "double",
        "value_driver": "varchar",
        "is_cash": "boolean",
    },
    "portfolio_rollout": {
        "initiative_id": "varchar",
        "unit_id": "varchar",
        "go_live_on": "date",
    },
    "portfolio_units": {
        "unit_id": "varchar",
        "unit_name": "varchar",
        "business_unit": "varchar",
        "region": "varchar",
        "unit_size": "integer",
    },
    "portfolio_kpis": {
        "kpi_id": "varchar",
        "kpi_name": "varchar",
        "unit_of_measure": "varchar",
        "aggregation": "varchar",
        "higher_is_better": "boolean",
        "min_value": "double",
        "max_value": "double",
    },
    "portfolio_blockers": {
        "initiative_id": "varchar",
        "raised_on": "date",
        "blocker_text": "varchar",
        "resolved_on": "date",
    },
    # Phase-gate criteria in effect per initiative (defaults resolved): one row per initiative x
    # gate x criterion. Boolean criteria have threshold 1; a criterion switched off has no row.
    "portfolio_gate_criteria": {
        "initiative_id": "varchar",
        "from_stage": "varchar",
        "to_stage": "varchar",
        "criterion": "varchar",
        "threshold": "double",
    },
    # The randomised rollout plan per initiative (sources/portfolio/plans.py), one row each, and
    # its units: wave and planned go-live, or a planned control (no wave).
    "portfolio_rollout_plans": {
        "initiative_id": "varchar",
        "plan_method": "varchar",
        "plan_seed": "bigint",
        "planned_on": "date",
        "kpi_id": "varchar",
        "size_buckets": "integer",
        "n_strata": "integer",
        "n_waves": "integer",
        "n_planned_units": "integer",
        "n_planned_controls": "integer",
        "mde_estimator": "varchar",
        "mde_value": "double",
        "mde_relative": "double",
        "mde_standard_error": "double",
        "mde_degrees_of_freedom": "double",
        "mde_alpha": "double",
        "mde_power": "double",
        "mde_end_month": "date",
    },
    "portfolio_rollout_plan_units": {
        "initiative_id": "varchar",
        "unit_id": "varchar",
        "stratum": "varchar",
        "wave_number": "integer",
        "planned_go_live_on": "date",
    },
    "portfolio_settings": {
        "portfolio_name": "varchar",
        "currency": "varchar",
        "data_starts_on": "date",
        "discount_rate": "double",
    },
    # Finance sign-offs of value figures (sources/portfolio/signoffs.csv), one row per line.
    "portfolio_signoffs": SIGNOFF_COLUMNS,
}

STAGE_ORDER = {"idea": 1, "poc": 2, "pilot": 3, "production": 4, "scaled": 5, "killed": 6}


def _plan_rows(initiative_id: str, plan: RolloutPlan) -> tuple[dict, list[dict]]:
    stratum_of = {u: name for name, members in plan.strata.items() for u in members}
    units = [
        {
            "initiative_id": initiative_id,
            "unit_id": u,
            "stratum": stratum_of.get(u),
            "wave_number": w.wave,
            "planned_go_live_on": w.go_live,
        }
        for w in plan.waves
        for u in w.units
    ]
    units += [
        {
            "initiative_id": initiative_id,
            "unit_id": u,
            "stratum": None,
            "wave_number": None,
            "planned_go_live_on": None,
        }
        for u in plan.controls
    ]
    mde = plan.mde
    row = {
        "initiative_id": initiative_id,
        "plan_method": plan.method,
        "plan_seed": plan.seed,
        "planned_on": plan.planned_on,
        "kpi_id": plan.kpi_id,
        "size_buckets": plan.size_buckets,
        "n_strata": len(plan.strata),
        "n_waves": len(plan.waves),
        "n_planned_units": sum(len(w.units) for w in plan.waves),
        "n_planned_controls": len(plan.controls),
        "mde_estimator": mde.estimator,
        "mde_value": mde.value,
        "mde_relative": mde.relative,
        "mde_standard_error": mde.standard_error,
        "mde_degrees_of_freedom": mde.degrees_of_freedom,
        "mde_alpha": mde.alpha,
        "mde_power": mde.power,
        "mde_end_month": mde.end_month,
    }
    return row, units


def portfolio_tables(
    reg: Registry, signoffs: list[tuple[int, Signoff]] = ()
) -> dict[str, list[dict]]:
    initiatives, stages, kpis, rollout, blockers, gates = [], [], [], [], [], []
    plans, plan_units = [], []
    for ini in reg.initiatives:
        if ini.rollout_plan is not None:
            plan, plan_unit_rows = _plan_rows(ini.initiative_id, ini.rollout_plan)
            plans.append(plan)
            plan_units += plan_unit_rows
        m = reg.measurement_for(ini)
        d = reg.discipline_for(ini)
        initiatives.append(
            {
                "initiative_id": ini.initiative_id,
                "initiative_name": ini.name,
                "business_unit": ini.business_unit,
                "owner": ini.owner,
                "priority": ini.priority,
                "strategic_theme": ini.strategic_theme,
                "current_stage": ini.current_stage,
                "current_stage_entered_on": ini.stages[ini.current_stage],
                "budget_amount": ini.budget.amount,
                "currency": ini.budget.currency,
                "baseline_days": m.baseline_days,
                "ramp_up_days": m.ramp_up_days,
                "min_observations": m.min_observations,
                "baseline_grace_days": m.baseline_grace_days,
                "horizon_months": d.horizon_months,
                "run_rate_months": d.run_rate_months,
                "adoption_window_days": d.adoption_window_days,
            }
        )
        gates += [
            {
                "initiative_id": ini.initiative_id,
                "from_stage": GATES[gate],
                "to_stage": gate,
                "criterion": name,
                "threshold": float(value),
            }
            for gate, criteria in reg.gate_criteria_for(ini).items()
            for name, value in criteria.items()
        ]
        stages += [
            {
                "initiative_id": ini.initiative_id,
                "stage": s,
                "stage_order": STAGE_ORDER[s],
                "entered_on": d,
            }
            for s, d in sorted(ini.stages.items(), key=lambda kv: STAGE_ORDER[kv[0]])
        ]
        kpis += [
            {
                "initiative_id": ini.initiative_id,
                "kpi_id": k.kpi_id,
                "direction": k.direction,
                "target_type": k.target.type,
                "target_change": k.target.change,
                "value_per_unit": k.value.per_unit,
                "value_driver": k.value.driver,
                "is_cash": k.value.is_cash,
            }
            for k in ini.kpis
        ]
        rollout += [
            {"initiative_id": ini.initiative_id, "unit_id": r.unit_id, "go_live_on": r.go_live}
            for r in ini.rollout
        ]
        blockers += [
            {
                "initiative_id": ini.initiative_id,
                "raised_on": b.raised_on,
                "blocker_text": b.text,
                "resolved_on": b.resolved_on,
            }
            for b in ini.blockers
        ]
    tables = {
        "portfolio_initiatives": initiatives,
        "portfolio_stages": stages,
        "portfolio_initiative_kpis": kpis,
        "portfolio_rollout": rollout,
        "portfolio_units": [
            {
                "unit_id": u.unit_id,
                "unit_name": u.name,
                "business_unit": u.business_unit,
                "region": u.region,
                "unit_size": u.size,
            }
            for u in reg.units
        ],
        "portfolio_kpis": [
            {
                "kpi_id": k.kpi_id,
                "kpi_name": k.name,
                "unit_of_measure": k.unit_of_measure,
                "aggregation": k.aggregation,
                "higher_is_better": k.higher_is_better,
                "min_value": k.min_value,
                "max_value": k.max_value,
            }
            for k in reg.kpis
        ],
        "portfolio_blockers": blockers,
        "portfolio_gate_criteria": gates,
        "portfolio_rollout_plans": plans,
        "portfolio_rollout_plan_units": plan_units,
        "portfolio_settings": [
            {
                "portfolio_name": reg.portfolio.name,
                "currency": reg.portfolio.currency,
                "data_starts_on": reg.portfolio.data_starts_on,
                "discount_rate": reg.portfolio.discount_rate,
            }
        ],
        "portfolio_signoffs": signoff_rows(list(signoffs)),
    }
    assert tables.keys() == PORTFOLIO_COLUMNS.keys()
    return tables
