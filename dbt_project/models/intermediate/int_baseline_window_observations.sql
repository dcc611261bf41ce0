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

final as (

    select
        baseline_units.initiative_id,
        baseline_units.kpi_id,
        baseline_units.go_live_on,
        baseline_units.unit_id,
        baseline_units.is_treated,
        baseline_units.aggregation,
        observations.source_system,
        observations.observed_on,
        observations.observed_value,
        observations.weight,
        observations.source_file,
        observations.source_row,
        observations.loaded_at,
        baseline_units.baseline_frozen_at,
        observations.loaded_at > baseline_units.baseline_frozen_at as is_late

    from baseline_units
    inner join observations
        on
            baseline_units.kpi_id = observations.kpi_id
            and baseline_units.unit_id = observations.unit_id
            and baseline_units.baseline_starts_on <= observations.observed_on
            and baseline_units.baseline_ends_on >= observations.observed_on

)

select * from final
