-- Initiatives ranked by what they are expected to return against cost and risk, to find the
-- vital few (docs/discipline.md, "Prioritisation"). Over the next horizon_months:
--   risk_adjusted_net_value = expected value at the low end of its 95% interval
--                             - expected running cost
-- ranked highest first; the vital few are the top initiatives that together bring 80% of
-- the portfolio's positive risk-adjusted net value. Killed initiatives are not ranked;
-- initiatives without a measured value (too little evidence) are listed unranked.
with

recommendations as (

    select * from {{ ref('fct_initiative_recommendations') }}

),

scored as (

    select
        initiative_id,
        initiative_name,
        business_unit,
        currency,
        current_stage,
        recommendation,
        horizon_months,
        expected_value_amount,
        expected_value_low_amount,
        expected_cost_amount,
        expected_value_low_amount - expected_cost_amount as risk_adjusted_net_value_amount,
        expected_value_low_amount / nullif(expected_cost_amount, 0) as risk_adjusted_value_to_cost,
        current_stage != 'killed' and expected_value_low_amount is not null as is_ranked

    from recommendations

),

ranked as (

    select
        *,
        case
            when is_ranked
                then row_number() over (
                        partition by is_ranked
                        order by risk_adjusted_net_value_amount desc, initiative_id asc
                    )
        end as priority_rank,
        case
            when is_ranked and risk_adjusted_net_value_amount > 0
                then sum(risk_adjusted_net_value_amount) over (
                        partition by is_ranked, risk_adjusted_net_value_amount > 0
                        order by risk_adjusted_net_value_amount desc, initiative_id asc
                        rows between unbounded preceding and 1 preceding
                    )
        end as positive_value_before,
        sum(
            case
                when is_ranked and risk_adjusted_net_value_amount > 0
                    then risk_adjusted_net_value_amount
                else 0
            end
        ) over () as positive_value_total

    from scored

),

final as (

    select
        initiative_id,
        initiative_name,
        business_unit,
        currency,
        current_stage,
        recommendation,
        cast(priority_rank as integer) as priority_rank,
        cast(horizon_months as integer) as horizon_months,
        cast(expected_value_amount as {{ type_double() }}) as expected_value_amount,
        cast(expected_value_low_amount as {{ type_double() }}) as expected_value_low_amount,
        cast(expected_cost_amount as {{ type_double() }}) as expected_cost_amount,
        cast(
            risk_adjusted_net_value_amount as {{ type_double() }}
        ) as risk_adjusted_net_value_amount,
        cast(risk_adjusted_value_to_cost as {{ type_double() }}) as risk_adjusted_value_to_cost,
        cast(
            case
                when is_ranked and risk_adjusted_net_value_amount > 0
                    then
                        (coalesce(positive_value_before, 0) + risk_adjusted_net_value_amount)
                        / nullif(positive_value_total, 0)
            end as {{ type_double() }}
        ) as cumulative_share_of_value,
        -- In the vital few while the initiatives ranked above it bring less than 80%.
        coalesce(
            is_ranked
            and risk_adjusted_net_value_amount > 0
            and coalesce(positive_value_before, 0) < 0.8 * positive_value_total,
            false
        ) as is_vital_few,
        case
            when current_stage = 'killed' then 'stopped: not ranked'
            when expected_value_low_amount is null
                then 'not ranked: too little evidence to put a value on it yet'
            when risk_adjusted_net_value_amount > 0
                then 'pays for itself even at the low end of its value interval'
            when expected_value_amount > expected_cost_amount
                then 'pays on the central estimate, not yet beyond doubt'
            else 'expected to cost more than it brings'
        end as priority_note

    from ranked

)

select * from final
