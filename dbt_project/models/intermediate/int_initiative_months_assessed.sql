{#-
    One row per initiative x month, from the portfolio's first month (first stage entered or
    first cost) to the as-of month: the stage the initiative was in at the month's end (the
    as-of date for the last month), and whether it was then in production (or scaled) and
    delivering measurable value. "Delivering" reads today's evidence: the initiative's verdict
    is measurable value on at least one KPI and harmful on none, and the month is on or after
    its first month with attributed value. Past months are restated as evidence accrues, like
    restated accounts; marts.fct_gate_evaluation_history keeps what each run said.
-#}

with

initiatives as (

    select * from {{ ref('stg_portfolio__initiatives') }}

),

stages as (

    select * from {{ ref('stg_portfolio__stages') }}

),

criteria as (

    select * from {{ ref('stg_portfolio__gate_criteria') }}
    where criterion = 'max_days_in_stage'

),

costs as (

    select * from {{ ref('stg_evidence__ai_costs') }}

),

effects as (

    select * from {{ ref('fct_initiative_kpi_effects') }}

),

kpi_months as (

    select * from {{ ref('fct_initiative_kpi_monthly') }}

),

as_of as (

    select * from {{ ref('int_as_of_dates_chosen') }}

),

month_offsets as (

    {{ integer_series(3) }}

),

verdicts as (

    select
        initiative_id,
        sum(case when evidence_verdict = 'measurable value' then 1 else 0 end)
            as n_kpis_measurable_value,
        sum(case when evidence_verdict = 'harmful' then 1 else 0 end) as n_kpis_harmful

    from effects
    group by initiative_id

),

-- The first month with attributed value on a KPI that shows measurable value.
first_value_months as (

    select
        kpi_months.initiative_id,
        min(kpi_months.report_month) as first_value_month

    from kpi_months
    inner join effects
        on
            kpi_months.initiative_id = effects.initiative_id
            and kpi_months.kpi_id = effects.kpi_id
    where
        effects.evidence_verdict = 'measurable value'
        and kpi_months.attributed_value_amount is not null
    group by kpi_months.initiative_id

),

monthly_costs as (

    select
        initiative_id,
        cost_month as report_month,
        sum(cost_amount) as cost_amount

    from costs
    group by
        initiative_id,
        cost_month

),

monthly_values as (

    select
        initiative_id,
        report_month,
        sum(coalesce(attributed_value_amount, 0)) as attributed_value_amount

    from kpi_months
    group by
        initiative_id,
        report_month

),

first_month as (

    select min(first_on) as first_month
    from (
        select {{ month_start('min(entered_on)') }} as first_on from stages
        union all
        select min(cost_month) as first_on from costs
    ) as portfolio_starts

),

spine as (

    select
        cast(
            {{ dbt.dateadd('month', 'month_offsets.n', 'first_month.first_month') }} as date
        ) as report_month

    from first_month
    cross join as_of
    inner join month_offsets
        on
            month_offsets.n
            <= {{ dbt.datediff('first_month.first_month', 'as_of.as_of_month', 'month') }}

),

month_ends as (

    select
        spine.report_month,
        case
            when spine.report_month = as_of.as_of_month then as_of.as_of_date
            else cast(
                    {{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'spine.report_month')) }}
                    as date
                )
        end as month_end_on

    from spine
    cross join as_of

),

initiative_months as (

    select
        initiatives.initiative_id,
        initiatives.business_unit,
        initiatives.currency,
        month_ends.report_month,
        month_ends.month_end_on

    from initiatives
    cross join month_ends

),

stage_at_month_end as (

    select
        initiative_months.initiative_id,
        initiative_months.report_month,
        max(stages.stage_order) as stage_order

    from initiative_months
    inner join stages
        on
            initiative_months.initiative_id = stages.initiative_id
            and initiative_months.month_end_on >= stages.entered_on
    group by
        initiative_months.initiative_id,
        initiative_months.report_month

),

joined as (

    select
        initiative_months.initiative_id,
        initiative_months.business_unit,
        initiative_months.currency,
        initiative_months.report_month,
        initiative_months.month_end_on,
        stages.stage,
        stages.entered_on as stage_entered_on,
        criteria.threshold as max_days_in_stage,
        first_value_months.first_value_month,
        coalesce(verdicts.n_kpis_measurable_value, 0) > 0
        and coalesce(verdicts.n_kpis_harmful, 0) = 0 as has_measurable_value,
        coalesce(monthly_costs.cost_amount, 0) as cost_amount,
        coalesce(monthly_values.attributed_value_amount, 0) as attributed_value_amount

    from initiative_months
    left join stage_at_month_end
        on
            initiative_months.initiative_id = stage_at_month_end.initiative_id
            and initiative_months.report_month = stage_at_month_end.report_month
    left join stages
        on
            stage_at_month_end.initiative_id = stages.initiative_id
            and stage_at_month_end.stage_order = stages.stage_order
    left join criteria
        on
            stages.initiative_id = criteria.initiative_id
            and stages.stage = criteria.from_stage
    left join verdicts
        on initiative_months.initiative_id = verdicts.initiative_id
    left join first_value_months
        on initiative_months.initiative_id = first_value_months.initiative_id
    left join monthly_costs
        on
            initiative_months.initiative_id = monthly_costs.initiative_id
            and initiative_months.report_month = monthly_costs.report_month
    left join monthly_values
        on
            initiative_months.initiative_id = monthly_values.initiative_id
            and initiative_months.report_month = monthly_values.report_month

),

final as (

    select
        initiative_id,
        business_unit,
        currency,
        report_month,
        month_end_on,
        stage,
        stage_entered_on,
        stage is not null as is_started,
        coalesce(stage = 'killed', false) as is_killed,
        case
            when stage is not null
                then {{ dbt.datediff('stage_entered_on', 'month_end_on', 'day') }}
        end as days_in_stage,
        coalesce(stage in ('production', 'scaled'), false) as is_in_production,
        coalesce(
            stage in ('production', 'scaled')
            and has_measurable_value
            and report_month >= first_value_month,
            false
        ) as is_delivering_value,
        coalesce(stage = 'pilot', false) as is_pilot,
        coalesce(
            stage = 'pilot'
            and {{ dbt.datediff('stage_entered_on', 'month_end_on', 'day') }}
            > max_days_in_stage,
            false
        ) as is_stuck_pilot,
        cost_amount,
        attributed_value_amount,
        sum(cost_amount) over (
            partition by initiative_id
            order by report_month
            rows between unbounded preceding and current row
        ) as cumulative_cost_amount,
        sum(attributed_value_amount) over (
            partition by initiative_id
            order by report_month
            rows between unbounded preceding and current row
        ) as cumulative_attributed_value_amount

    from joined

)

select * from final
