-- One row per KPI x unit x calendar month: the aggregate every difference-in-differences step
-- starts from (50M observations become units x KPIs x months). Observations of coarser grains
-- (weekly, monthly, quarterly) land in the month of their observed_on.
-- A table, not a view: several models read it, and at scale it should be computed once.
-- Month by month it depends on that month's observations only, so a partition run rebuilds
-- just the months it re-processed (macros/observation_months.sql).
{{ incremental_by_observation_month() }}

with

observations as (

    select * from {{ ref('stg_evidence__kpi_observations') }}
    {{- where_observation_months('observed_on') }}

),

kpis as (

    select * from {{ ref('stg_portfolio__kpis') }}

),

observations_by_month as (

    select
        observations.kpi_id,
        observations.unit_id,
        kpis.aggregation,
        observations.observed_value,
        observations.weight,
        observations.loaded_at,
        {{ month_start('observations.observed_on') }} as observed_month

    from observations
    inner join kpis
        on observations.kpi_id = kpis.kpi_id

),

final as (

    select
        kpi_id,
        unit_id,
        observed_month,
        aggregation,
        {{ kpi_mean('aggregation', 'observed_value', 'weight') }} as month_mean,
        sum(coalesce(weight, 1)) as volume,
        count(*) as observations,
        min(loaded_at) as first_loaded_at,
        '{{ invocation_id }}' as build_invocation_id

    from observations_by_month
    group by
        kpi_id,
        unit_id,
        observed_month,
        aggregation

)

select * from final
