-- Distinct control units per initiative x KPI x month, over the month's identified post cells
-- of all its cohorts (a unit is a control of several cohorts at once): fct_initiative_kpi_monthly
-- reports it. Its own table because the distinct count reads every control row of
-- int_unit_months_differenced (28M at 50M observations, 8 s): a partition run recounts only
-- its months and the initiative x KPIs with a moved baseline (macros/observation_months.sql).
{{ incremental_on_partition_runs("{{ delete_rebuilt_control_counts() }}") }}

with

differenced as (

    select * from {{ ref('int_unit_months_differenced') }}
    where is_post_period and not is_treated
    {%- if is_partition_run() %}
        and {{ rebuilt_initiative_month() }}
    {%- endif %}

),

cells as (

    select * from {{ ref('int_cells_estimated') }}
    where is_post_period and is_identified

),

final as (

    select
        differenced.initiative_id,
        differenced.kpi_id,
        differenced.observed_month,
        count(distinct differenced.unit_id) as n_control_units

    from differenced
    inner join cells
        on
            differenced.initiative_id = cells.initiative_id
            and differenced.kpi_id = cells.kpi_id
            and differenced.go_live_on = cells.go_live_on
            and differenced.observed_month = cells.observed_month
    group by
        differenced.initiative_id,
        differenced.kpi_id,
        differenced.observed_month

)

select * from final
