-- The portfolio headline (fct_portfolio_headline_monthly) per business unit and month.
with

initiative_months as (

    select * from {{ ref('int_initiative_months_assessed') }}

),

final as (

    {{ portfolio_headline('initiative_months', ['business_unit']) }}

)

select * from final
