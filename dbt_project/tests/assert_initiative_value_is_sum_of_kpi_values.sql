-- A failure means an initiative's monthly value (naive or attributed) differs from the sum of
-- its KPI months: value was lost or invented between fct_initiative_kpi_monthly and
-- fct_initiative_value_monthly (for example a KPI month outside the month spine).
-- Dagster attaches this check to fct_initiative_value_monthly (it reads several models).
{{ config(meta={'dagster': {'ref': {'name': 'fct_initiative_value_monthly'}}}) }}

with

kpi_months as (

    select * from {{ ref('fct_initiative_kpi_monthly') }}

),

value_months as (

    select * from {{ ref('fct_initiative_value_monthly') }}

),

kpi_totals as (

    select
        initiative_id,
        report_month,
        sum(value_amount) as kpi_value_amount,
        sum(attributed_value_amount) as kpi_attributed_value_amount

    from kpi_months
    group by
        initiative_id,
        report_month

),

final as (

    select
        value_months.value_amount,
        kpi_totals.kpi_value_amount,
        value_months.attributed_value_amount,
        kpi_totals.kpi_attributed_value_amount,
        coalesce(value_months.initiative_id, kpi_totals.initiative_id) as initiative_id,
        coalesce(value_months.report_month, kpi_totals.report_month) as report_month

    from value_months
    full outer join kpi_totals
        on
            value_months.initiative_id = kpi_totals.initiative_id
            and value_months.report_month = kpi_totals.report_month
    where
        abs(coalesce(value_months.value_amount, 0) - coalesce(kpi_totals.kpi_value_amount, 0))
        > 0.005
        or abs(
            coalesce(value_months.attributed_value_amount, 0)
            - coalesce(kpi_totals.kpi_attributed_value_amount, 0)
        ) > 0.005

)

select * from final
