-- A failure means the CLI summary disagrees with the finance mart: an initiative's KPI rows in
-- rpt_initiative_summary do not add up to its cumulative value (naive or attributed).
-- Dagster attaches this check to rpt_initiative_summary (it reads several models).
{{ config(meta={'dagster': {'ref': {'name': 'rpt_initiative_summary'}}}) }}

with

summary as (

    select * from {{ ref('rpt_initiative_summary') }}

),

value_months as (

    select * from {{ ref('fct_initiative_value_monthly') }}

),

summary_totals as (

    select
        initiative_id,
        sum(coalesce(value_to_date, 0)) as value_to_date,
        sum(coalesce(attributed_value_to_date, 0)) as attributed_value_to_date

    from summary
    group by initiative_id

),

mart_totals as (

    select
        initiative_id,
        sum(value_amount) as value_to_date,
        sum(attributed_value_amount) as attributed_value_to_date

    from value_months
    group by initiative_id

),

final as (

    select
        summary_totals.initiative_id,
        summary_totals.value_to_date as summary_value_to_date,
        mart_totals.value_to_date as mart_value_to_date,
        summary_totals.attributed_value_to_date as summary_attributed_value_to_date,
        mart_totals.attributed_value_to_date as mart_attributed_value_to_date

    from summary_totals
    left join mart_totals
        on summary_totals.initiative_id = mart_totals.initiative_id
    where
        abs(summary_totals.value_to_date - coalesce(mart_totals.value_to_date, 0)) > 0.005
        or abs(
            summary_totals.attributed_value_to_date
            - coalesce(mart_totals.attributed_value_to_date, 0)
        ) > 0.005

)

select * from final
