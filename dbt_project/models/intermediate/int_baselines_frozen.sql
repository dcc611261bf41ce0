-- The frozen baseline of each unit over each cohort's window: for the cohort's own units
-- (is_treated) and for its control candidates, over the same calendar days. Only observations
-- dated inside [go-live - baseline_days, go-live) and loaded before the baseline froze count.
-- A table, not a view: several models read it, and at scale it should be computed once.
{{ config(materialized='table') }}

with

baseline_units as (

    select * from {{ ref('int_baseline_units_selected') }}

),

window_observations as (

    select * from {{ ref('int_baseline_window_observations') }}

),

baseline_stats as (

    select
        initiative_id,
        kpi_id,
        go_live_on,
        unit_id,
        {{ kpi_mean('aggregation', 'observed_value', 'weight') }} as baseline_mean,
        stddev_samp(observed_value) as baseline_sd,
        count(*) as baseline_observations,
        max(loaded_at) as baseline_last_loaded_at

    from window_observations
    where not is_late
    group by
        initiative_id,
        kpi_id,
        go_live_on,
        unit_id,
        aggregation

),

late_stats as (

    select
        initiative_id,
        kpi_id,
        go_live_on,
        unit_id,
        count(*) as late_observations

    from window_observations
    where is_late
    group by
        initiative_id,
        kpi_id,
        go_live_on,
        unit_id

),

final as (

    select
        baseline_units.initiative_id,
        baseline_units.kpi_id,
        baseline_units.go_live_on,
        baseline_units.unit_id,
        baseline_units.is_treated,
        baseline_units.aggregation,
        baseline_units.kpi_first_go_live_on,
        baseline_units.baseline_starts_on,
        baseline_units.baseline_ends_on,
        baseline_units.baseline_frozen_at,
        baseline_stats.baseline_mean,
        baseline_stats.baseline_sd,
        baseline_stats.baseline_last_loaded_at,
        coalesce(baseline_stats.baseline_observations, 0) as baseline_observations,
        cast(coalesce(baseline_stats.baseline_observations, 0) as {{ type_double() }})
        / baseline_units.baseline_days as baseline_coverage,
        coalesce(baseline_stats.baseline_observations, 0)
        >= baseline_units.min_observations as has_min_observations,
        coalesce(late_stats.late_observations, 0) as late_observations

    from baseline_units
    left join baseline_stats
        on
            baseline_units.initiative_id = baseline_stats.initiative_id
            and baseline_units.kpi_id = baseline_stats.kpi_id
            and baseline_units.go_live_on = baseline_stats.go_live_on
            and baseline_units.unit_id = baseline_stats.unit_id
    left join late_stats
        on
            baseline_units.initiative_id = late_stats.initiative_id
            and baseline_units.kpi_id = late_stats.kpi_id
            and baseline_units.go_live_on = late_stats.go_live_on
            and baseline_units.unit_id = late_stats.unit_id

)

select * from final
