-- Evidence for a frozen baseline window that arrived after the baseline froze (a restatement
-- or a late delivery). It is listed here and never applied: a baseline finance has seen does
-- not move. One row per observation x cohort window it falls in.
with

window_observations as (

    select * from {{ ref('int_baseline_window_observations') }}
    where is_late

),

final as (

    select
        initiative_id,
        kpi_id,
        go_live_on,
        unit_id,
        is_treated,
        source_system,
        observed_on,
        observed_value,
        weight,
        loaded_at,
        baseline_frozen_at,
        source_file,
        source_row

    from window_observations

)

select * from final
