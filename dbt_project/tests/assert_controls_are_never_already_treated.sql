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

rollout as (

    select * from {{ ref('stg_portfolio__rollout') }}

),

initiative_kpis as (

    select * from {{ ref('stg_portfolio__initiative_kpis') }}

),

final as (

    select
        unit_months.initiative_id,
        unit_months.kpi_id,
        unit_months.go_live_on,
        unit_months.unit_id,
        unit_months.observed_month,
        rollout.initiative_id as treated_by_initiative_id,
        rollout.go_live_on as treated_from

    from unit_months
    inner join rollout
        on unit_months.unit_id = rollout.unit_id
    inner join initiative_kpis
        on
            rollout.initiative_id = initiative_kpis.initiative_id
            and unit_months.kpi_id = initiative_kpis.kpi_id
    where
        rollout.go_live_on
        < cast({{ dbt.dateadd('month', 1, 'unit_months.observed_month') }} as date)

)

select * from final
