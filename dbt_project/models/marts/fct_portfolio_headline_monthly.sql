-- The figure an executive reads first, per month: the share of initiatives, and of AI spend
-- to date, in production and delivering measurable value; pilots, their average age and how
-- many are stuck; value delivered against money invested. Exact definition:
-- docs/discipline.md ("The portfolio headline").
with

initiative_months as (

    select * from {{ ref('int_initiative_months_assessed') }}

),

final as (

    {{ portfolio_headline('initiative_months') }}

)

select * from final
