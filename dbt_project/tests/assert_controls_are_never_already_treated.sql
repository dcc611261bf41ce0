-- A failure means an already-treated unit served as a control: a unit live (by the end of the
-- month) on any initiative that moves the KPI was compared against, so part of the AI effect
-- was subtracted from itself. Checked against the rollout directly, not against the
-- kpi_first_go_live_on the model computes.
-- Dagster attaches this check to int_unit_months_differenced (it reads several models).
{{ config(meta={'dagster': {'ref': {'name': 'int_unit_months_differenced'}}}) }}

with

unit_months as (

    select * from {{ ref('int_unit_months_differenced') }}
    where not is_treated

),

cohorts as (

    select * from {{ ref('int_rollout_cohorts_formed') }}

),

units as (

    select * from {{ unit_ids() }} as unit_ids

),

rollout as (

    select * from {{ ref('stg_portfolio__rollout') }}

),

initiative_kpis as (

    select * from {{ ref('stg_portfolio__initiative_kpis') }}

),

final as (

    select
        cohorts.initiative_id,
        cohorts.kpi_id,
        cohorts.go_live_on,
        units.unit_id,
        unit_months.observed_month,
        rollout.initiative_id as treated_by_initiative_id,
        rollout.go_live_on as treated_from

    from unit_months
    inner join cohorts
        on unit_months.cohort_key = cohorts.cohort_key
    inner join units
        on unit_months.unit_key = units.unit_key
    inner join rollout
        on units.unit_id = rollout.unit_id
    inner join initiative_kpis
        on
            rollout.initiative_id = initiative_kpis.initiative_id
            and cohorts.kpi_id = initiative_kpis.kpi_id
    where
        rollout.go_live_on
        < cast({{ dbt.dateadd('month', 1, 'unit_months.observed_month') }} as date)

)

select * from final
