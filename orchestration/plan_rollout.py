"""`valueledger plan-rollout`: a randomised, stratified rollout in waves and its MDE.

Reads the candidates' baseline volume and the KPI's variance structure from the warehouse of the
last run (SQL over the unit-month aggregate), draws the waves (sources/planning/assign.py),
computes the minimum detectable effect of the planned staggered difference-in-differences
(sources/planning/power.py), prints the plan and, with --write, stores it as the initiative's
`rollout_plan` in the registry (sources/planning/writer.py). docs/method.md, "Rollout design
and pre-registration".
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass

import duckdb

from orchestration.settings import Settings
from sources.planning.assign import Assignment, Candidate, PlanningError, assign_waves
from sources.planning.power import Design, Power, add_months, first_post_month, mde, month_start
from sources.planning.writer import write_plan
from sources.portfolio.plans import ESTIMATOR, PLAN_METHOD
from sources.portfolio.registry import Initiative, Registry, load_registry


def add_parser(sub) -> None:
    p = sub.add_parser(
        "plan-rollout",
        help="propose a randomised rollout in waves and its minimum detectable effect",
    )
    p.add_argument("initiative_id")
    p.add_argument("--kpi", help="KPI for the MDE (default: the initiative's first KPI)")
    p.add_argument(
        "--units",
        help="candidate units, comma-separated (default: units of the "
        "initiative's business unit that report the KPI)",
    )
    p.add_argument(
        "--controls",
        help="units kept as controls, comma-separated (default: the "
        "other units reporting the KPI that no other initiative on it treats)",
    )
    p.add_argument("--waves", type=int, default=3)
    p.add_argument("--start", type=dt.date.fromisoformat, help="first go-live date")
    p.add_argument("--every-months", type=int, default=3, help="months between waves")
    p.add_argument("--dates", help="go-live date per wave, comma-separated (overrides the above)")
    p.add_argument(
        "--post-months", type=int, default=6, help="months measured after the last wave's ramp-up"
    )
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--size-buckets", type=int, default=2)
    p.add_argument(
        "--lookback-months",
        type=int,
        default=12,
        help="months of baseline data before the first go-live used for variances",
    )
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--power", type=float, default=0.8)
    p.set_defaults(handler=run)
    p.add_argument(
        "--planned-on",
        type=dt.date.fromisoformat,
        default=None,
        help="date of the plan (default: today)",
    )
    p.add_argument("--write", action="store_true", help="store the plan in the registry")


@dataclass(frozen=True)
class Variance:
    residual_sd: float
    serial_correlation: float
    between_unit_sd: float
    baseline_value: float
    n_units: int
    n_months: int
    baseline_from: dt.date
    baseline_to: dt.date


# Two-way demeaned unit-month residuals of the KPI before any unit is treated on it: their
# variance (degrees of freedom (U-1)(T-1)), lag-1 autocorrelation and the spread of unit means.
VARIANCE_SQL = """
with months as (
    select m.unit_id, m.observed_month, m.month_mean as y
    from intermediate.int_unit_months_aggregated as m
    where m.kpi_id = $kpi and list_contains($units, m.unit_id)
        and m.observed_month >= $first and m.observed_month < $last
        and not exists (
            select 1 from staging.stg_portfolio__rollout as r
            inner join staging.stg_portfolio__initiative_kpis as k using (initiative_id)
            where k.kpi_id = $kpi and r.unit_id = m.unit_id
                and r.initiative_id != $initiative
                and date_trunc('month', r.go_live_on) <= m.observed_month
        )
),
resid as (
    select unit_id, observed_month, y,
        y - avg(y) over (partition by unit_id) - avg(y) over (partition by observed_month)
        + avg(y) over () as r
    from months
),
lagged as (
    select *, lag(r) over (partition by unit_id order by observed_month) as r_prev,
        lag(observed_month) over (partition by unit_id order by observed_month) as prev_month
    from resid
),
unit_means as (select unit_id, avg(y) as unit_mean, count(*) as n from months group by unit_id)
select
    (select sum(r * r) from resid) as ss,
    (select count(*) from resid) as n,
    (select count(distinct unit_id) from resid) as n_units,
    (select count(distinct observed_month) from resid) as n_months,
    (select sum(r * r_prev) from lagged
        where prev_month = observed_month - interval 1 month) as lag_sum,
    (select count(*) from lagged where prev_month = observed_month - interval 1 month) as n_pairs,
    (select var_samp(unit_mean) from unit_means) as between_var,
    (select avg(y) from months) as mean_y,
    (select min(observed_month) from months) as first_month,
    (select max(observed_month) from months) as last_month
"""

VOLUME_SQL = """
select m.unit_id, sum(m.volume) as volume
from intermediate.int_unit_months_aggregated as m
where m.kpi_id = $kpi and m.observed_month >= $first and m.observed_month < $last
group by m.unit_id
order by m.unit_id
"""


def estimate_variance(
    con, initiative_id: str, kpi_id: str, units: list[str], first: dt.date, last: dt.date
) -> Variance:
    params = {
        "kpi": kpi_id,
        "units": units,
        "first": first,
        "last": last,
        "initiative": initiative_id,
    }
    row = con.execute(VARIANCE_SQL, params).fetchone()
    ss, n, n_units, n_months, lag_sum, n_pairs, between_var, mean_y, first_m, last_m = row
    if not n or n_units < 2 or n_months < 3:
        raise PlanningError(
            f"KPI '{kpi_id}': {n_units or 0} units x {n_months or 0} untreated months of data "
            f"between {first} and {last}; need 2 units and 3 months to estimate its variance"
        )
    sigma2 = ss / ((n_units - 1) * (n_months - 1))
    rho_hat = (lag_sum / n_pairs) / (ss / n) if n_pairs and ss > 0 else 0.0
    # Demeaning within unit biases the lag-1 autocorrelation down by about (1 + 3 rho) / T
    # (Kendall 1954); clipped to [0, 0.95] for the working model.
    rho = min(max(rho_hat + (1 + 3 * rho_hat) / n_months, 0.0), 0.95)
    between = max((between_var or 0.0) - sigma2 / n_months, 0.0)
    return Variance(
        residual_sd=float(sigma2**0.5),
        serial_correlation=float(rho),
        between_unit_sd=float(between**0.5),
        baseline_value=float(mean_y),
        n_units=int(n_units),
        n_months=int(n_months),
        baseline_from=first_m,
        baseline_to=last_m,
    )


def _split(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _wave_dates(args) -> list[dt.date]:
    if args.dates:
        return [dt.date.fromisoformat(d) for d in _split(args.dates)]
    if args.start is None:
        raise PlanningError("give --start (first go-live) or --dates (one per wave)")
    return [
        args.start.replace(
            year=add_months(month_start(args.start), k * args.every_months).year,
            month=add_months(month_start(args.start), k * args.every_months).month,
        )
        for k in range(args.waves)
    ]


def _defaults(con, reg: Registry, ini: Initiative, kpi_id: str, first: dt.date, last: dt.date):
    bu = {u.unit_id: u.business_unit for u in reg.units}
    reporting = [
        r[0]
        for r in con.execute(VOLUME_SQL, {"kpi": kpi_id, "first": first, "last": last}).fetchall()
    ]
    treated_by_others = {
        r.unit_id
        for other in reg.initiatives
        if other.initiative_id != ini.initiative_id and kpi_id in {k.kpi_id for k in other.kpis}
        for r in other.rollout
    }
    candidates = [u for u in reporting if bu.get(u) == ini.business_unit]
    return candidates, reporting, treated_by_others


def build_plan(
    con, reg: Registry, ini: Initiative, args
) -> tuple[dict, Assignment, Variance, Power]:
    kpi_id = args.kpi or (ini.kpis[0].kpi_id if ini.kpis else None)
    if kpi_id not in {k.kpi_id for k in ini.kpis}:
        raise PlanningError(
            f"initiative '{ini.initiative_id}' measures {[k.kpi_id for k in ini.kpis]}; "
            f"--kpi {kpi_id} is not one of them"
        )
    dates = _wave_dates(args)
    last = month_start(dates[0])
    first = add_months(last, -args.lookback_months)
    default_cands, reporting, treated_by_others = _defaults(con, reg, ini, kpi_id, first, last)
    units = _split(args.units) or default_cands
    known = {u.unit_id for u in reg.units}
    unknown = sorted(set(units) - known)
    if unknown:
        raise PlanningError(f"unknown units (not in the registry): {', '.join(unknown)}")
    controls = _split(args.controls)
    if controls is None:
        controls = [u for u in reporting if u not in units and u not in treated_by_others]
    overlap = sorted(set(controls) & set(units))
    if overlap:
        raise PlanningError(f"units both candidates and controls: {', '.join(overlap)}")
    volumes = dict(
        con.execute(VOLUME_SQL, {"kpi": kpi_id, "first": first, "last": last}).fetchall()
    )
    bu = {u.unit_id: u.business_unit for u in reg.units}
    missing = [u for u in units if u not in volumes]
    if missing:
        raise PlanningError(
            f"no '{kpi_id}' observations between {first} and {last} for: {', '.join(missing)}; "
            "a unit without baseline data cannot be measured"
        )
    assignment = assign_waves(
        [Candidate(u, bu[u], float(volumes[u])) for u in units],
        len(dates),
        args.seed,
        args.size_buckets,
    )
    variance = estimate_variance(con, ini.initiative_id, kpi_id, units + controls, first, last)
    m = reg.measurement_for(ini)
    end_month = add_months(first_post_month(dates[-1], m.ramp_up_days), args.post_months - 1)
    design = Design(
        go_lives={u: dates[k] for k, wave in enumerate(assignment.waves) for u in wave},
        never_treated=tuple(controls),
        baseline_days=m.baseline_days,
        ramp_up_days=m.ramp_up_days,
        end_month=end_month,
    )
    power = mde(design, variance.residual_sd, variance.serial_correlation, args.alpha, args.power)
    plan = {
        "method": PLAN_METHOD,
        "seed": args.seed,
        "planned_on": args.planned_on or dt.date.today(),
        "kpi_id": kpi_id,
        "size_buckets": args.size_buckets,
        "strata": {name: list(members) for name, members in assignment.strata.items()},
        "waves": [
            {"wave": k + 1, "go_live": dates[k], "units": list(wave)}
            for k, wave in enumerate(assignment.waves)
        ],
        "controls": sorted(controls),
        "mde": {
            "estimator": ESTIMATOR,
            "value": _round(power.mde),
            "relative": _round(power.mde / abs(variance.baseline_value))
            if variance.baseline_value
            else None,
            "baseline_value": _round(variance.baseline_value),
            "standard_error": _round(power.standard_error),
            "degrees_of_freedom": _round(power.degrees_of_freedom),
            "alpha": args.alpha,
            "power": args.power,
            "residual_sd": _round(variance.residual_sd),
            "serial_correlation": _round(variance.serial_correlation),
            "between_unit_sd": _round(variance.between_unit_sd),
            "baseline_from": variance.baseline_from,
            "baseline_to": variance.baseline_to,
            "end_month": end_month,
        },
    }
    return plan, assignment, variance, power


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def describe(
    ini: Initiative,
    plan: dict,
    assignment: Assignment,
    variance: Variance,
    power: Power,
    unit_of_measure: str,
) -> str:
    stratum_of = {u: s for s, members in assignment.strata.items() for u in members}
    mde_ = plan["mde"]
    out = [
        f"Rollout plan for {ini.initiative_id} ({ini.name}), KPI {plan['kpi_id']}",
        f"  {PLAN_METHOD}, seed {plan['seed']}, planned on {plan['planned_on']}: "
        f"{sum(len(w['units']) for w in plan['waves'])} units in {len(plan['waves'])} waves, "
        f"{len(plan['controls'])} controls ({', '.join(plan['controls']) or 'none'})",
        "  strata (business unit / size bucket by baseline volume, 1 = smallest):",
    ]
    out += [f"    {s}: {', '.join(m)}" for s, m in assignment.strata.items()]
    out.append("  waves:")
    for w in plan["waves"]:
        counts: dict[str, int] = {}
        for u in w["units"]:
            counts[stratum_of[u]] = counts.get(stratum_of[u], 0) + 1
        mix = ", ".join(f"{s} {n}" for s, n in sorted(counts.items()))
        out.append(f"    {w['wave']}  {w['go_live']}  {', '.join(w['units'])}   [{mix}]")
    out += [
        f"  baseline variance ({variance.baseline_from:%Y-%m} .. {variance.baseline_to:%Y-%m}, "
        f"{variance.n_units} units x {variance.n_months} months, before any treatment):",
        f"    unit-month residual sd {variance.residual_sd:.4g} {unit_of_measure}, serial "
        f"correlation {variance.serial_correlation:.2f}, between-unit sd "
        f"{variance.between_unit_sd:.4g} (differenced out by each unit's own baseline)",
        f"  minimum detectable effect (two-sided alpha {mde_['alpha']}, power {mde_['power']}, "
        f"staggered difference-in-differences up to {mde_['end_month']:%Y-%m}):",
        f"    {power.mde:.4g} {unit_of_measure}"
        + (
            f" = {mde_['relative']:.1%} of the baseline {variance.baseline_value:.4g}"
            if mde_["relative"]
            else ""
        )
        + f"  (SE {power.standard_error:.4g}, {power.degrees_of_freedom:.1f} degrees of freedom,"
        f" {power.n_cells} identified cohort-months)",
    ]
    target = next((k.target for k in ini.kpis if k.kpi_id == plan["kpi_id"]), None)
    if target is not None:
        tv = abs(target.change) * (abs(variance.baseline_value) if target.type == "relative" else 1)
        verdict = "detectable" if tv >= power.mde else "NOT detectable: add units or waves"
        out.append(
            f"    target {target.type} {target.change:+g} = {tv:.4g} {unit_of_measure}: {verdict}"
        )
    return "\n".join(out)


def run(settings: Settings, args: argparse.Namespace) -> None:
    reg = load_registry(settings.registry_path, settings.cache_dir)
    ini = next((i for i in reg.initiatives if i.initiative_id == args.initiative_id), None)
    if ini is None:
        raise PlanningError(f"{settings.registry_path}: no initiative '{args.initiative_id}'")
    if not settings.warehouse_path.exists():
        raise PlanningError(
            f"no warehouse at {settings.warehouse_path}: run `valueledger run` first"
        )
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        plan, assignment, variance, power = build_plan(con, reg, ini, args)
    uom = next(k.unit_of_measure for k in reg.kpis if k.kpi_id == plan["kpi_id"])
    print(describe(ini, plan, assignment, variance, power, uom))
    if args.write:
        write_plan(settings.registry_path, ini.initiative_id, plan)
        print(
            f"  written to {settings.registry_path} (initiatives: {ini.initiative_id}: "
            "rollout_plan); its rollout should follow the waves"
        )
    else:
        print("  not written: add --write to store it in the registry")
