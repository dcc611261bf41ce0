-- The headline's parts must nest: delivering value <= in production <= active <= started,
-- shares between 0 and 1, spend on initiatives delivering value within total spend, and the
-- business units adding up to the portfolio. A failure means the headline miscounts.
with

portfolio as (

    select * from {{ ref('fct_portfolio_headline_monthly') }}

),

by_unit as (

    select
        report_month,
        sum(n_initiatives) as n_initiatives,
        sum(n_delivering_value) as n_delivering_value,
        sum(spend_to_date_amount) as spend_to_date_amount

    from {{ ref('fct_portfolio_headline_business_unit_monthly') }}
    group by report_month

)

select portfolio.report_month
from portfolio
left join by_unit
    on portfolio.report_month = by_unit.report_month
where
    portfolio.n_delivering_value > portfolio.n_in_production
    or portfolio.n_in_production > portfolio.n_active_initiatives
    or portfolio.n_active_initiatives > portfolio.n_initiatives
    or portfolio.share_of_initiatives_delivering_value not between 0 and 1
    or portfolio.share_of_spend_delivering_value not between 0 and 1
    or portfolio.spend_to_date_delivering_value_amount
    > portfolio.spend_to_date_amount + 0.005
    or by_unit.n_initiatives != portfolio.n_initiatives
    or by_unit.n_delivering_value != portfolio.n_delivering_value
    or abs(by_unit.spend_to_date_amount - portfolio.spend_to_date_amount) > 0.01
