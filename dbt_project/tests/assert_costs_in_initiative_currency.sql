-- A failure means an AI cost is booked in a currency other than its initiative's (the
-- portfolio currency): summing it with the rest would mix currencies. Convert it at load.
-- Dagster attaches this check to stg_evidence__ai_costs (it reads several models).
{{ config(meta={'dagster': {'ref': {'name': 'stg_evidence__ai_costs'}}}) }}

with

costs as (

    select * from {{ ref('stg_evidence__ai_costs') }}

),

initiatives as (

    select * from {{ ref('stg_portfolio__initiatives') }}

),

final as (

    select
        costs.initiative_id,
        costs.cost_month,
        costs.cost_category,
        costs.currency as cost_currency,
        initiatives.currency as initiative_currency

    from costs
    inner join initiatives
        on costs.initiative_id = initiatives.initiative_id
    where costs.currency != initiatives.currency

)

select * from final
