-- Evidence for a frozen baseline window that arrived after the baseline froze (a restatement
-- or a late delivery). It is listed here and never applied: a baseline finance has seen does
-- not move. One row per observation x cohort window it falls in.
with

-- The cohort units whose window has late rows (int_baselines_frozen counted them): the window
-- join below then runs for those windows only.
late_units as (

    select * from {{ ref('int_baselines_frozen') }}
    where late_observations > 0

),

window_observations as (

    select * from {{ ref('int_baseline_window_observations') }}
    where is_late

),

final as (

    select
        late_units.initiative_id,
        late_units.kpi_id,
        late_units.go_live_on,
        late_units.unit_id,
        late_units.is_treated,
        window_observations.source_system,
        window_observations.observed_on,
        window_observations.observed_value,
        window_observations.weight,
        window_observations.loaded_at,
        window_observations.baseline_frozen_at,
        window_observations.source_file,
        window_observations.source_row

    from late_units
    inner join window_observations
        on
            late_units.kpi_id = window_observations.kpi_id
            and late_units.unit_id = window_observations.unit_id
            and late_units.baseline_starts_on = window_observations.baseline_starts_on
            and late_units.baseline_ends_on = window_observations.baseline_ends_on
            and late_units.baseline_frozen_at = window_observations.baseline_frozen_at

)

select * from final
