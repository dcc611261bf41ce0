-- A failure means AI costs in the evidence do not reach fct_initiative_value_monthly in full
-- (a cost month outside the spine, or an initiative missing from the registry), so net value
-- and ROI look better than they are.
-- Dagster attaches this check to fct_initiative_value_monthly (it reads several models).
{{ config(meta={'dagster': {'ref': {'name': 'fct_initiative_value_monthly'}}}) }}

with

costs as (

    select * from {{ ref('stg_evidence__ai_costs') }}

),

value_months as (

    select * from {{ ref('fct_initiative_value_monthly') }}

),

evidence_totals as (

    select
        initiative_id,
        sum(cost_amount) as cost_amount

    from costs
    group by initiative_id

),

booked_totals as (

    select
        initiative_id,
        sum(cost_amount) as cost_amount

    from value_months
    group by initiative_id

),

final as (

    select
        evidence_totals.initiative_id,
        evidence_totals.cost_amount as evidence_cost_amount,
        booked_totals.cost_amount as booked_cost_amount

    from evidence_totals
    left join booked_totals
        on evidence_totals.initiative_id = booked_totals.initiative_id
    where abs(evidence_totals.cost_amount - coalesce(booked_totals.cost_amount, 0)) > 0.005

)

select * from final
