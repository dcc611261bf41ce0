-- A failure means the attributed value booked month by month (fct_initiative_kpi_monthly)
-- differs from the attributed value to date of the estimate (fct_initiative_kpi_effects):
-- an identified cell was booked twice, or lost, between the two marts.
-- Dagster attaches this check to fct_initiative_kpi_effects (it reads several models).
{{ config(meta={'dagster': {'ref': {'name': 'fct_initiative_kpi_effects'}}}) }}

with

kpi_months as (

    select * from {{ ref('fct_initiative_kpi_monthly') }}

),

effects as (

    select * from {{ ref('fct_initiative_kpi_effects') }}

),

monthly_totals as (

    select
        initiative_id,
        kpi_id,
        sum(attributed_value_amount) as attributed_value_amount

    from kpi_months
    group by
        initiative_id,
        kpi_id

),

final as (

    select
        effects.initiative_id,
        effects.kpi_id,
        effects.attributed_value_amount,
        monthly_totals.attributed_value_amount as monthly_attributed_value_amount

    from effects
    left join monthly_totals
        on
            effects.initiative_id = monthly_totals.initiative_id
            and effects.kpi_id = monthly_totals.kpi_id
    where
        abs(
            coalesce(effects.attributed_value_amount, 0)
            - coalesce(monthly_totals.attributed_value_amount, 0)
        ) > 0.005

)

select * from final
