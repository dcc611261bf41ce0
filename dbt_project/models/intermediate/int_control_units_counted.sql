-- Distinct control units per initiative x KPI x month, over the month's identified post cells
-- of all its cohorts (a unit is a control of several cohorts at once): fct_initiative_kpi_monthly
-- reports it. Its own table because the distinct count reads every control row of
-- int_unit_months_differenced (28M at 50M observations, 8 s): a partition run recounts only
-- its months and the initiative x KPIs with a moved baseline (macros/observation_months.sql).
-- depends_on: {{ ref('int_rollout_cohorts_formed') }}
{{ incremental_on_partition_runs("{{ delete_rebuilt_control_counts() }}") }}

with

differenced as (

    select * from {{ ref('int_unit_months_differenced') }}
    where is_post_period and not is_treated
    {%- if is_partition_run() %}
        and {{ rebuilt_initiative_month(by_cohort=true) }}
    {%- endif %}

),

initiative_kpis as (

    select * from {{ ref('stg_portfolio__initiative_kpis') }}

),

cells as (

    select * from {{ ref('int_cells_estimated') }}
    where is_post_period and is_identified

),

-- Joined and counted on the integer keys (macros/integer_key.sql); the ids join back after.
counts as (

    select
        cells.estimate_key,
        differenced.observed_month,
        count(distinct differenced.unit_key) as n_control_units

    from differenced
    inner join cells
        on
            differenced.cohort_key = cells.cohort_key
            and differenced.observed_month = cells.observed_month
    group by
        cells.estimate_key,
        differenced.observed_month

),

final as (

    select
        initiative_kpis.initiative_id,
        initiative_kpis.kpi_id,
        counts.observed_month,
        counts.n_control_units

    from counts
    inner join initiative_kpis
        on counts.estimate_key = initiative_kpis.estimate_key

)

select * from final
