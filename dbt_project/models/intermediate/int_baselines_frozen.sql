-- The frozen baseline of each unit over each cohort's window: for the cohort's own units
-- (is_treated) and for its control candidates, over the same calendar days. Only observations
-- dated inside [go-live - baseline_days, go-live) and loaded before the baseline froze count.
-- Computed once per distinct window (int_baseline_window_observations), then given to every
-- cohort and unit sharing it.
-- A table, not a view: several models read it, and at scale it should be computed once.
{{ config(materialized='table') }}

with

baseline_units as (

    select * from {{ ref('int_baseline_units_selected') }}

),

window_observations as (

    select * from {{ ref('int_baseline_window_observations') }}

),

-- One scan of the window join: the kept and the late rows of each window apart.
window_stats as (

    select
        kpi_id,
        unit_id,
        baseline_starts_on,
        baseline_ends_on,
        baseline_frozen_at,
        is_late,
        {{ kpi_mean('aggregation', 'observed_value', 'weight') }} as mean_value,
        stddev_samp(observed_value) as sd_value,
        count(*) as observations,
        max(loaded_at) as last_loaded_at

    from window_observations
    group by
        kpi_id,
        unit_id,
        baseline_starts_on,
        baseline_ends_on,
        baseline_frozen_at,
        aggregation,
        is_late

),

windows as (

    select
        kpi_id,
        unit_id,
        baseline_starts_on,
        baseline_ends_on,
        baseline_frozen_at,
        max(case when not is_late then mean_value end) as baseline_mean,
        max(case when not is_late then sd_value end) as baseline_sd,
        max(case when not is_late then last_loaded_at end) as baseline_last_loaded_at,
        sum(case when not is_late then observations else 0 end) as baseline_observations,
        sum(case when is_late then observations else 0 end) as late_observations

    from window_stats
    group by
        kpi_id,
        unit_id,
        baseline_starts_on,
        baseline_ends_on,
        baseline_frozen_at

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
        on
            baseline_units.kpi_id = windows.kpi_id
            and baseline_units.unit_id = windows.unit_id
            and baseline_units.baseline_starts_on = windows.baseline_starts_on
            and baseline_units.baseline_ends_on = windows.baseline_ends_on
            and baseline_units.baseline_frozen_at = windows.baseline_frozen_at

)

select * from final
