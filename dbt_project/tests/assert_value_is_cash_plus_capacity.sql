-- A failure means a month's value (naive or attributed) is not split exactly into cash and
-- capacity: some KPI value was counted in both, or in neither (for example is_cash is null).
-- Returns the broken months.
with

value_months as (

    select * from {{ ref('fct_initiative_value_monthly') }}

),

final as (

    select
        initiative_id,
        report_month,
        value_amount,
        cash_value_amount,
        capacity_value_amount,
        attributed_value_amount,
        attributed_cash_value_amount,
        attributed_capacity_value_amount

    from value_months
    where
        abs(value_amount - (cash_value_amount + capacity_value_amount)) > 0.005
        or abs(
            attributed_value_amount
            - (attributed_cash_value_amount + attributed_capacity_value_amount)
        ) > 0.005

)

select * from final
