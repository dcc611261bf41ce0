-- A failure means a cumulative column is not the running sum of its monthly column (a gap or a
-- duplicate in the month spine, or a wrong window), so value to date, cost to date or ROI is
-- wrong. Recomputed with a self-join, independently of the model's window functions.
with

value_months as (

    select * from {{ ref('fct_initiative_value_monthly') }}

),

running as (

    select
        this_month.initiative_id,
        this_month.report_month,
        max(this_month.cumulative_value_amount) as cumulative_value_amount,
        max(this_month.cumulative_cost_amount) as cumulative_cost_amount,
        max(this_month.cumulative_net_value_amount) as cumulative_net_value_amount,
        sum(earlier.value_amount) as expected_value_amount,
        sum(earlier.cost_amount) as expected_cost_amount,
        sum(earlier.net_value_amount) as expected_net_value_amount

    from value_months as this_month
    inner join value_months as earlier
        on
            this_month.initiative_id = earlier.initiative_id
            and this_month.report_month >= earlier.report_month
    group by
        this_month.initiative_id,
        this_month.report_month

),

final as (

    select * from running
    where
        abs(cumulative_value_amount - expected_value_amount) > 0.005
        or abs(cumulative_cost_amount - expected_cost_amount) > 0.005
        or abs(cumulative_net_value_amount - expected_net_value_amount) > 0.005

)

select * from final
