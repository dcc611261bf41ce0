-- The frozen baseline of each unit over each cohort's window: for the cohort's own units
-- (is_treated) and for its control candidates, over the same calendar days. Only observations
-- dated inside [go-live - baseline_days, go-live) and loaded before the baseline froze count.
-- Measured once per distinct window (int_baseline_windows_measured), then given to every
-- cohort and unit sharing it.
-- A table, not a view: several models read it, and at scale it should be computed once.
{{ config(materialized='table') }}

with

baseline_units as (

    select * from {{ ref('int_baseline_units_selected') }}

),

windows as (

    select * from {{ ref('int_baseline_windows_measured') }}

),

final as (

    select
        baseline_units.initiative_id,
        baseline_units.kpi_id,
        baseline_units.go_live_on,
        baseline_units.unit_id,
        baseline_units.cohort_key,
        baseline_units.unit_key,
        baseline_units.is_treated,
        baseline_units.aggregation,
        baseline_units.kpi_first_go_live_on,
        baseline_units.baseline_starts_on,
        baseline_units.baseline_ends_on,
        baseline_units.baseline_frozen_at,
        windows.baseline_mean,
        windows.baseline_sd,
        windows.baseline_last_loaded_at,
        coalesce(windows.baseline_observations, 0) as baseline_observations,
        cast(coalesce(windows.baseline_observations, 0) as {{ type_double() }})
        / baseline_units.baseline_days as baseline_coverage,
        coalesce(windows.baseline_observations, 0)
        >= baseline_units.min_observations as has_min_observations,
        coalesce(windows.late_observations, 0) as late_observations

    from baseline_units
    left join windows
        on {{ same_baseline_window('baseline_units', 'windows') }}

)

select * from final
