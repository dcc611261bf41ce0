with

initiatives as (

    select * from {{ ref('dim_initiatives') }}

),

initiative_kpis as (

    select * from {{ ref('dim_initiative_kpis') }}

),

kpis as (

    select * from {{ ref('dim_kpis') }}

),

kpi_months as (

    select * from {{ ref('fct_initiative_kpi_monthly') }}

),

value_months as (

    select * from {{ ref('fct_initiative_value_monthly') }}

),

baselines as (

    select * from {{ ref('int_baselines_frozen') }}
    where has_min_observations

),

unit_changes as (

    select * from {{ ref('int_changes_measured_to_date') }}
    where has_min_observations

),

baseline_summary as (

    select
        initiative_id,
        kpi_id,
        avg(baseline_mean) as baseline_value

    from baselines
    group by
        initiative_id,
        kpi_id

),

change_summary as (

    select
        initiative_id,
        kpi_id,
        (avg(actual_mean) - avg(baseline_mean))
        / nullif(avg(baseline_mean), 0) as change_relative,
        count(*) as n_units_measured

    from unit_changes
    group by
        initiative_id,
        kpi_id

),

kpi_months_ranked as (

    select
        initiative_id,
        kpi_id,
        report_month,
        actual_value,
        n_live_units,
        row_number() over (
            partition by initiative_id, kpi_id
            order by report_month desc
        ) as month_rank

    from kpi_months

),

kpi_value_to_date as (

    select
        initiative_id,
        kpi_id,
        sum(value_amount) as value_to_date

    from kpi_months
    group by
        initiative_id,
        kpi_id

),

value_months_ranked as (

    select
        initiative_id,
        roi,
        row_number() over (
            partition by initiative_id
            order by report_month desc
        ) as month_rank

    from value_months

),

final as (

    select
        initiatives.initiative_id,
        initiatives.initiative_name,
        initiatives.current_stage,
        initiative_kpis.kpi_id,
        kpis.kpi_name,
        initiative_kpis.direction,
        baseline_summary.baseline_value,
        latest_kpi_month.report_month as current_month,
        latest_kpi_month.actual_value as current_value,
        change_summary.change_relative,
        kpi_value_to_date.value_to_date,
        initiatives.currency,
        latest_value_month.roi,
        cast(coalesce(latest_kpi_month.n_live_units, 0) as integer) as n_units_live,
        cast(coalesce(change_summary.n_units_measured, 0) as integer) as n_units_measured,
        initiatives.n_units_rolled_out

    from initiatives
    left join initiative_kpis
        on initiatives.initiative_id = initiative_kpis.initiative_id
    left join kpis
        on initiative_kpis.kpi_id = kpis.kpi_id
    left join baseline_summary
        on
            initiative_kpis.initiative_id = baseline_summary.initiative_id
            and initiative_kpis.kpi_id = baseline_summary.kpi_id
    left join change_summary
        on
            initiative_kpis.initiative_id = change_summary.initiative_id
            and initiative_kpis.kpi_id = change_summary.kpi_id
    left join kpi_months_ranked as latest_kpi_month
        on
            initiative_kpis.initiative_id = latest_kpi_month.initiative_id
            and initiative_kpis.kpi_id = latest_kpi_month.kpi_id
            and latest_kpi_month.month_rank = 1
    left join kpi_value_to_date
        on
            initiative_kpis.initiative_id = kpi_value_to_date.initiative_id
            and initiative_kpis.kpi_id = kpi_value_to_date.kpi_id
    left join value_months_ranked as latest_value_month
        on
            initiatives.initiative_id = latest_value_month.initiative_id
            and latest_value_month.month_rank = 1

)

select * from final
