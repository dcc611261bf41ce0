-- The floor: the core numbers of the marts in one hand-written DuckDB script, reading the same
-- files. Tables in: observations (unit_id, kpi_id, observed_on, value, weight; a view over the
-- Parquet files), initiatives, initiative_kpis, rollout, kpis (the registry, from floor.py).
-- Monthly means per unit, baselines before go-live, naive changes after ramp-up, a cohort
-- difference-in-differences against not-yet/never-treated units, and monthly value.

create temp table unit_months as
select
    o.kpi_id,
    o.unit_id,
    date_trunc('month', o.observed_on)::date as month,
    case when any_value(k.aggregation) = 'ratio'
        then sum(o.value * coalesce(o.weight, 1)) / nullif(sum(coalesce(o.weight, 1)), 0)
        else avg(o.value) end as month_mean,
    sum(coalesce(o.weight, 1)) as volume
from observations as o
join kpis as k using (kpi_id)
group by all;

create temp table treated as
select r.initiative_id, ik.kpi_id, r.unit_id, r.go_live_on, i.baseline_days, i.ramp_up_days,
    ik.direction, ik.value_per_unit, k.aggregation
from rollout as r
join initiatives as i using (initiative_id)
join initiative_kpis as ik using (initiative_id)
join kpis as k using (kpi_id);

-- Baselines and naive changes from the daily observations, per treated unit.
create temp table baselines as
select t.initiative_id, t.kpi_id, t.unit_id, t.go_live_on,
    case when any_value(t.aggregation) = 'ratio'
        then sum(o.value * coalesce(o.weight, 1)) / nullif(sum(coalesce(o.weight, 1)), 0)
        else avg(o.value) end as baseline_mean,
    count(*) as baseline_observations
from treated as t
join observations as o
    on o.kpi_id = t.kpi_id and o.unit_id = t.unit_id
    and o.observed_on >= t.go_live_on - t.baseline_days and o.observed_on < t.go_live_on
group by all;

create temp table naive_changes as
select t.initiative_id, t.kpi_id, t.unit_id,
    case when any_value(t.aggregation) = 'ratio'
        then sum(o.value * coalesce(o.weight, 1)) / nullif(sum(coalesce(o.weight, 1)), 0)
        else avg(o.value) end - any_value(b.baseline_mean) as change_value,
    any_value(b.baseline_mean) as baseline_mean
from treated as t
join baselines as b using (initiative_id, kpi_id, unit_id)
join observations as o
    on o.kpi_id = t.kpi_id and o.unit_id = t.unit_id
    and o.observed_on >= t.go_live_on + t.ramp_up_days
group by all;

-- Cohorts: one go-live date of one initiative x KPI. Controls: units with the KPI that the
-- initiative has not treated by that month.
create temp table cohorts as
select initiative_id, kpi_id, go_live_on, any_value(baseline_days) as baseline_days,
    any_value(ramp_up_days) as ramp_up_days, any_value(direction) as direction,
    any_value(value_per_unit) as value_per_unit
from treated
group by all;

create temp table unit_changes as
with pre as (
    select c.initiative_id, c.kpi_id, c.go_live_on, m.unit_id, avg(m.month_mean) as pre_mean
    from cohorts as c
    join unit_months as m
        on m.kpi_id = c.kpi_id
        and m.month >= date_trunc('month', c.go_live_on - c.baseline_days)::date
        and m.month < date_trunc('month', c.go_live_on)::date
    group by all
)
select c.initiative_id, c.kpi_id, c.go_live_on, m.month, m.unit_id,
    m.month_mean - pre.pre_mean as unit_change, m.volume,
    t.unit_id is not null and t.go_live_on = c.go_live_on as is_cohort,
    t.unit_id is null or t.go_live_on > last_day(m.month) as is_control
from cohorts as c
join unit_months as m
    on m.kpi_id = c.kpi_id
    and m.month >= date_trunc('month', c.go_live_on + c.ramp_up_days)::date
join pre
    on pre.initiative_id = c.initiative_id and pre.kpi_id = c.kpi_id
    and pre.go_live_on = c.go_live_on and pre.unit_id = m.unit_id
left join treated as t
    on t.initiative_id = c.initiative_id and t.kpi_id = c.kpi_id and t.unit_id = m.unit_id;

create temp table cohort_months as
select initiative_id, kpi_id, go_live_on, month,
    avg(unit_change) filter (where is_cohort)
        - avg(unit_change) filter (where is_control) as effect,
    var_samp(unit_change) filter (where is_cohort) / count(*) filter (where is_cohort)
        + var_samp(unit_change) filter (where is_control)
            / count(*) filter (where is_control) as effect_variance,
    count(*) filter (where is_cohort) as treated_units,
    sum(volume) filter (where is_cohort) as treated_volume
from unit_changes
group by all
having count(*) filter (where is_cohort) > 0 and count(*) filter (where is_control) > 0;

create temp table effects as
select initiative_id, kpi_id,
    sum(effect * treated_units) / sum(treated_units) as attributed_change,
    sqrt(sum(effect_variance * treated_units ^ 2)) / sum(treated_units) as standard_error
from cohort_months
group by all;

create temp table value_monthly as
select m.initiative_id, m.month,
    sum(m.effect * m.treated_volume * c.value_per_unit
        * case when c.direction = 'increase' then 1 else -1 end) as attributed_value
from cohort_months as m
join cohorts as c using (initiative_id, kpi_id, go_live_on)
group by all;
