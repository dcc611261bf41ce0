-- Every observation dated inside a baseline window, once per distinct window of a unit (its KPI,
-- days and the moment it froze), marked late when it was loaded after the baseline froze. Late
-- rows never move a baseline (int_baselines_frozen leaves them out); fct_late_baseline_evidence
-- lists them. Keyed by window, not by cohort: a control unit is a candidate for every cohort of
-- its KPI and cloned or co-launched initiatives share windows, so per cohort the same days would
-- be joined and stored again for each (at 50M observations, about a billion rows).
-- A view: int_baselines_frozen aggregates it and fct_late_baseline_evidence keeps its late rows.
{{ config(materialized='view') }}

with

baseline_units as (

    select * from {{ ref('int_baseline_units_selected') }}

),

observations as (

    select * from {{ ref('stg_evidence__kpi_observations') }}

),

windows as (

    select distinct
        kpi_id,
        unit_id,
        aggregation,
        baseline_starts_on,
        baseline_ends_on,
        baseline_frozen_at

    from baseline_units

),

final as (

    select
        windows.kpi_id,
        windows.unit_id,
        windows.aggregation,
        windows.baseline_starts_on,
        windows.baseline_ends_on,
        windows.baseline_frozen_at,
        observations.source_system,
        observations.observed_on,
        observations.observed_value,
        observations.weight,
        observations.source_file,
        observations.source_row,
        observations.loaded_at,
        observations.loaded_at > windows.baseline_frozen_at as is_late

    from windows
    inner join observations
        on
            windows.kpi_id = observations.kpi_id
            and windows.unit_id = observations.unit_id
            and windows.baseline_starts_on <= observations.observed_on
            and windows.baseline_ends_on >= observations.observed_on

)

select * from final
