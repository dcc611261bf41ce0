-- Every observation dated inside a cohort's baseline window, for each unit that needs that
-- baseline, marked late when it was loaded after the baseline froze. Late rows never move a
-- baseline (int_baselines_frozen leaves them out); fct_late_baseline_evidence lists them.
-- A table, not a view: two models read it, and at scale the join should run once.
{{ config(materialized='table') }}

with

baseline_units as (

    select * from {{ ref('int_baseline_units_selected') }}

),

observations as (

    select * from {{ ref('stg_evidence__kpi_observations') }}

),

-- Cohorts of cloned or co-launched initiatives share windows: the date-range join runs once
-- per distinct unit window (about a tenth of the cohort units), then fans out by equality.
windows as (

    select distinct
        kpi_id,
        unit_id,
        baseline_starts_on,
        baseline_ends_on

    from baseline_units

),

window_observations as (

    select
        windows.kpi_id,
        windows.unit_id,
        windows.baseline_starts_on,
        windows.baseline_ends_on,
        observations.source_system,
        observations.observed_on,
        observations.observed_value,
        observations.weight,
        observations.source_file,
        observations.source_row,
        observations.loaded_at

    from windows
    inner join observations
        on
            windows.kpi_id = observations.kpi_id
            and windows.unit_id = observations.unit_id
            and windows.baseline_starts_on <= observations.observed_on
            and windows.baseline_ends_on >= observations.observed_on

),

final as (

    select
        baseline_units.initiative_id,
        baseline_units.kpi_id,
        baseline_units.go_live_on,
        baseline_units.unit_id,
        baseline_units.is_treated,
        baseline_units.aggregation,
        window_observations.source_system,
        window_observations.observed_on,
        window_observations.observed_value,
        window_observations.weight,
        window_observations.source_file,
        window_observations.source_row,
        window_observations.loaded_at,
        baseline_units.baseline_frozen_at,
        window_observations.loaded_at > baseline_units.baseline_frozen_at as is_late

    from baseline_units
    inner join window_observations
        on
            baseline_units.kpi_id = window_observations.kpi_id
            and baseline_units.unit_id = window_observations.unit_id
            and baseline_units.baseline_starts_on = window_observations.baseline_starts_on
            and baseline_units.baseline_ends_on = window_observations.baseline_ends_on

)

select * from final
