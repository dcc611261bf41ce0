with

kpi_months as (

    select * from {{ ref('fct_initiative_kpi_monthly') }}

),

costs as (

    select * from {{ ref('stg_evidence__ai_costs') }}

),

observations as (

    select * from {{ ref('stg_evidence__kpi_observations') }}

),

initiatives as (

    select * from {{ ref('dim_initiatives') }}

),

settings as (

    select * from {{ ref('stg_portfolio__settings') }}

),

month_offsets as (

    {{ integer_series(3) }}

),

monthly_value as (

    select
        initiative_id,
        report_month,
        sum(value_amount) as value_amount,
        sum(case when is_cash then value_amount else 0 end) as cash_value_amount,
        sum(case when is_cash then 0 else value_amount end) as capacity_value_amount,
        sum(attributed_value_amount) as attributed_value_amount,
        sum(case when is_cash then attributed_value_amount else 0 end)
            as attributed_cash_value_amount,
        sum(case when is_cash then 0 else attributed_value_amount end)
            as attributed_capacity_value_amount

    from kpi_months
    group by
        initiative_id,
        report_month

),

monthly_cost as (

    select
        initiative_id,
        cost_month as report_month,
        sum(cost_amount) as cost_amount

    from costs
    group by
        initiative_id,
        cost_month

),

evidence_end as (

    select max({{ month_start('observed_on') }}) as last_evidence_month

    from observations

),

active_months as (

    select
        initiative_id,
        report_month
    from monthly_value

    union all

    select
        initiative_id,
        report_month
    from monthly_cost

),

-- From the first month with value or cost to the last month of evidence (or of cost, when
-- costs are booked beyond the evidence, so no cost is ever dropped).
spine_bounds as (

    select
        active_months.initiative_id,
        min(active_months.report_month) as first_month,
        case
            when
                max(evidence_end.last_evidence_month) is null
                or max(active_months.report_month) > max(evidence_end.last_evidence_month)
                then max(active_months.report_month)
            else max(evidence_end.last_evidence_month)
        end as last_month

    from active_months
    cross join evidence_end
    group by active_months.initiative_id

),

spine as (

    select
        spine_bounds.initiative_id,
        month_offsets.n as month_index,
        cast(
            {{ dbt.dateadd('month', 'month_offsets.n', 'spine_bounds.first_month') }}
            as date
        ) as report_month

    from spine_bounds
    inner join month_offsets
        on
            month_offsets.n
            <= {{ dbt.datediff('spine_bounds.first_month', 'spine_bounds.last_month', 'month') }}

),

monthly as (

    select
        spine.initiative_id,
        spine.report_month,
        initiatives.currency,
        coalesce(monthly_value.value_amount, 0) as value_amount,
        coalesce(monthly_value.cash_value_amount, 0) as cash_value_amount,
        coalesce(monthly_value.capacity_value_amount, 0) as capacity_value_amount,
        coalesce(monthly_value.attributed_value_amount, 0) as attributed_value_amount,
        coalesce(monthly_value.attributed_cash_value_amount, 0) as attributed_cash_value_amount,
        coalesce(monthly_value.attributed_capacity_value_amount, 0)
            as attributed_capacity_value_amount,
        coalesce(monthly_cost.cost_amount, 0) as cost_amount,
        -- Monthly discounting at the annual rate, from the initiative's first month.
        1.0 / power(
            1.0 + settings.discount_rate, cast(spine.month_index as {{ type_double() }}) / 12
        ) as discount_factor

    from spine
    inner join initiatives
        on spine.initiative_id = initiatives.initiative_id
    cross join settings
    left join monthly_value
        on
            spine.initiative_id = monthly_value.initiative_id
            and spine.report_month = monthly_value.report_month
    left join monthly_cost
        on
            spine.initiative_id = monthly_cost.initiative_id
            and spine.report_month = monthly_cost.report_month

),

cumulative as (

    select
        initiative_id,
        report_month,
        currency,
        value_amount,
        cash_value_amount,
        capacity_value_amount,
        cost_amount,
        attributed_value_amount,
        attributed_cash_value_amount,
        attributed_capacity_value_amount,
        discount_factor,
        value_amount - cost_amount as net_value_amount,
        attributed_value_amount - cost_amount as attributed_net_value_amount,
        sum(attributed_value_amount) over (
            partition by initiative_id
            order by report_month
            rows between unbounded preceding and current row
        ) as cumulative_attributed_value_amount,
        sum(attributed_cash_value_amount) over (
            partition by initiative_id
            order by report_month
            rows between unbounded preceding and current row
        ) as cumulative_attributed_cash_value_amount,
        sum((value_amount - cost_amount) * discount_factor) over (
            partition by initiative_id
            order by report_month
            rows between unbounded preceding and current row
        ) as npv_amount,
        sum((attributed_value_amount - cost_amount) * discount_factor) over (
            partition by initiative_id
            order by report_month
            rows between unbounded preceding and current row
        ) as attributed_npv_amount,
        sum((attributed_cash_value_amount - cost_amount) * discount_factor) over (
            partition by initiative_id
            order by report_month
            rows between unbounded preceding and current row
        ) as attributed_cash_npv_amount,
        sum(value_amount) over (
            partition by initiative_id
            order by report_month
            rows between unbounded preceding and current row
        ) as cumulative_value_amount,
        sum(cost_amount) over (
            partition by initiative_id
            order by report_month
            rows between unbounded preceding and current row
        ) as cumulative_cost_amount

    from monthly

),

figures as (

    select
        initiative_id,
        report_month,
        currency,
        cast(value_amount as {{ type_double() }}) as value_amount,
        cast(cash_value_amount as {{ type_double() }}) as cash_value_amount,
        cast(capacity_value_amount as {{ type_double() }}) as capacity_value_amount,
        cast(cost_amount as {{ type_double() }}) as cost_amount,
        cast(net_value_amount as {{ type_double() }}) as net_value_amount,
        cast(cumulative_value_amount as {{ type_double() }}) as cumulative_value_amount,
        cast(cumulative_cost_amount as {{ type_double() }}) as cumulative_cost_amount,
        cast(
            cumulative_value_amount - cumulative_cost_amount as {{ type_double() }}
        ) as cumulative_net_value_amount,
        cast(
            (cumulative_value_amount - cumulative_cost_amount)
            / nullif(cumulative_cost_amount, 0) as {{ type_double() }}
        ) as roi,
        cast(discount_factor as {{ type_double() }}) as discount_factor,
        cast(npv_amount as {{ type_double() }}) as npv_amount,
        cast(attributed_value_amount as {{ type_double() }}) as attributed_value_amount,
        cast(attributed_cash_value_amount as {{ type_double() }}) as attributed_cash_value_amount,
        cast(
            attributed_capacity_value_amount as {{ type_double() }}
        ) as attributed_capacity_value_amount,
        cast(attributed_net_value_amount as {{ type_double() }}) as attributed_net_value_amount,
        cast(
            cumulative_attributed_value_amount as {{ type_double() }}
        ) as cumulative_attributed_value_amount,
        cast(
            cumulative_attributed_cash_value_amount as {{ type_double() }}
        ) as cumulative_attributed_cash_value_amount,
        cast(
            cumulative_attributed_value_amount - cumulative_cost_amount as {{ type_double() }}
        ) as cumulative_attributed_net_value_amount,
        cast(
            cumulative_attributed_cash_value_amount - cumulative_cost_amount
            as {{ type_double() }}
        ) as cumulative_attributed_cash_net_value_amount,
        cast(
            (cumulative_attributed_value_amount - cumulative_cost_amount)
            / nullif(cumulative_cost_amount, 0) as {{ type_double() }}
        ) as attributed_roi,
        cast(
            (cumulative_attributed_cash_value_amount - cumulative_cost_amount)
            / nullif(cumulative_cost_amount, 0) as {{ type_double() }}
        ) as attributed_cash_roi,
        cast(attributed_npv_amount as {{ type_double() }}) as attributed_npv_amount,
        cast(attributed_cash_npv_amount as {{ type_double() }}) as attributed_cash_npv_amount

    from cumulative

),

-- Every value figure carries the evidence status of its initiative (docs/quality.md):
-- a failing initiative is shown as unverified, never silently reported.
evidenced as (

    {{ with_evidence_status('figures') }}

),

-- The evidence ladder of the attributed value of the month: its weakest KPI (docs/method.md).
final as (

    {{ with_initiative_evidence_ladder('evidenced', 'attributed_value_amount', 'month') }}

)

select * from final
