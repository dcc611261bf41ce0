-- One row per initiative: its returns to date as finance reads them, naive and attributed side
-- by side, cash and capacity apart. Payback, NPV and run-rate use the attributed value (the
-- value that survives difference-in-differences), never the naive one.
with

initiatives as (

    select * from {{ ref('dim_initiatives') }}

),

value_months as (

    select * from {{ ref('fct_initiative_value_monthly') }}

),

effects as (

    select * from {{ ref('fct_initiative_kpi_effects') }}

),

settings as (

    select * from {{ ref('stg_portfolio__settings') }}

),

ranked_months as (

    select
        *,
        row_number() over (
            partition by initiative_id
            order by report_month desc
        ) as month_rank,
        -- The lowest cumulative net value from this month on: payback is the first month
        -- from which the cumulative net value never falls below zero again.
        min(cumulative_attributed_net_value_amount) over (
            partition by initiative_id
            order by report_month
            rows between current row and unbounded following
        ) as attributed_net_floor,
        min(cumulative_attributed_cash_net_value_amount) over (
            partition by initiative_id
            order by report_month
            rows between current row and unbounded following
        ) as attributed_cash_net_floor

    from value_months

),

latest as (

    select * from ranked_months
    where month_rank = 1

),

payback as (

    select
        initiative_id,
        min(case when attributed_net_floor >= 0 then report_month end)
            as attributed_payback_month,
        min(case when attributed_cash_net_floor >= 0 then report_month end)
            as attributed_cash_payback_month

    from ranked_months
    where cumulative_cost_amount > 0
    group by initiative_id

),

-- Annualised run-rate: the latest three months x 4.
run_rate as (

    select
        initiative_id,
        4 * sum(attributed_value_amount) as attributed_value_run_rate_amount,
        4 * sum(cost_amount) as cost_run_rate_amount

    from ranked_months
    where month_rank <= 3
    group by initiative_id

),

verdicts as (

    select
        initiative_id,
        count(*) as n_kpis,
        sum(case when evidence_verdict = 'measurable value' then 1 else 0 end)
            as n_kpis_measurable_value,
        sum(case when evidence_verdict = 'no measurable value' then 1 else 0 end)
            as n_kpis_no_measurable_value,
        sum(case when evidence_verdict = 'harmful' then 1 else 0 end) as n_kpis_harmful,
        sum(case when evidence_verdict = 'insufficient evidence' then 1 else 0 end)
            as n_kpis_insufficient_evidence

    from effects
    group by initiative_id

),

figures as (

    select
        initiatives.initiative_id,
        initiatives.currency,
        latest.report_month as as_of_month,
        cast(settings.discount_rate as {{ type_double() }}) as discount_rate,
        cast(latest.cumulative_cost_amount as {{ type_double() }}) as cost_to_date_amount,
        cast(latest.cumulative_value_amount as {{ type_double() }}) as value_to_date_amount,
        cast(
            latest.cumulative_attributed_value_amount as {{ type_double() }}
        ) as attributed_value_to_date_amount,
        cast(
            latest.cumulative_attributed_cash_value_amount as {{ type_double() }}
        ) as attributed_cash_value_to_date_amount,
        cast(
            latest.cumulative_attributed_value_amount
            - latest.cumulative_attributed_cash_value_amount as {{ type_double() }}
        ) as attributed_capacity_value_to_date_amount,
        cast(
            latest.cumulative_attributed_net_value_amount as {{ type_double() }}
        ) as attributed_net_value_to_date_amount,
        cast(
            latest.cumulative_attributed_cash_net_value_amount as {{ type_double() }}
        ) as attributed_cash_net_value_to_date_amount,
        cast(latest.roi as {{ type_double() }}) as roi,
        cast(latest.attributed_roi as {{ type_double() }}) as attributed_roi,
        cast(latest.attributed_cash_roi as {{ type_double() }}) as attributed_cash_roi,
        cast(latest.npv_amount as {{ type_double() }}) as npv_amount,
        cast(latest.attributed_npv_amount as {{ type_double() }}) as attributed_npv_amount,
        cast(
            latest.attributed_cash_npv_amount as {{ type_double() }}
        ) as attributed_cash_npv_amount,
        payback.attributed_payback_month,
        payback.attributed_cash_payback_month,
        cast(
            run_rate.attributed_value_run_rate_amount as {{ type_double() }}
        ) as attributed_value_run_rate_amount,
        cast(run_rate.cost_run_rate_amount as {{ type_double() }}) as cost_run_rate_amount,
        cast(
            run_rate.attributed_value_run_rate_amount - run_rate.cost_run_rate_amount
            as {{ type_double() }}
        ) as attributed_net_run_rate_amount,
        cast(coalesce(verdicts.n_kpis, 0) as integer) as n_kpis,
        cast(coalesce(verdicts.n_kpis_measurable_value, 0) as integer) as n_kpis_measurable_value,
        cast(
            coalesce(verdicts.n_kpis_no_measurable_value, 0) as integer
        ) as n_kpis_no_measurable_value,
        cast(coalesce(verdicts.n_kpis_harmful, 0) as integer) as n_kpis_harmful,
        cast(
            coalesce(verdicts.n_kpis_insufficient_evidence, 0) as integer
        ) as n_kpis_insufficient_evidence

    from initiatives
    cross join settings
    left join latest
        on initiatives.initiative_id = latest.initiative_id
    left join payback
        on initiatives.initiative_id = payback.initiative_id
    left join run_rate
        on initiatives.initiative_id = run_rate.initiative_id
    left join verdicts
        on initiatives.initiative_id = verdicts.initiative_id

),

-- Every value figure carries the evidence status of its initiative (docs/quality.md):
-- a failing initiative is shown as unverified, never silently reported.
evidenced as (

    {{ with_evidence_status('figures') }}

),

-- The evidence ladder of the attributed value to date: its weakest KPI (docs/method.md).
final as (

    {{ with_initiative_evidence_ladder('evidenced', 'attributed_value_to_date_amount', 'to_date') }}

)

select * from final
