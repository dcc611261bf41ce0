with

baseline_observations as (

    select * from {{ ref('int_observations_joined_to_rollouts') }}
    where measurement_period = 'baseline'

),

rollout as (

    select * from {{ ref('stg_portfolio__rollout') }}

),

initiative_kpis as (

    select * from {{ ref('stg_portfolio__initiative_kpis') }}

),

initiatives as (

    select * from {{ ref('stg_portfolio__initiatives') }}

),

kpis as (

    select * from {{ ref('stg_portfolio__kpis') }}

),

-- Every treated unit for every KPI of its initiative, whether or not it has baseline evidence.
treated_units as (

    select
        rollout.initiative_id,
        initiative_kpis.kpi_id,
        rollout.unit_id,
        rollout.go_live_on,
        kpis.aggregation,
        initiatives.baseline_days,
        initiatives.min_observations,
        cast(
            {{ dbt.dateadd('day', '-1 * initiatives.baseline_days', 'rollout.go_live_on') }}
            as date
        ) as baseline_starts_on,
        cast({{ dbt.dateadd('day', -1, 'rollout.go_live_on') }} as date) as baseline_ends_on

    from rollout
    inner join initiative_kpis
        on rollout.initiative_id = initiative_kpis.initiative_id
    inner join initiatives
        on rollout.initiative_id = initiatives.initiative_id
    inner join kpis
        on initiative_kpis.kpi_id = kpis.kpi_id

),

-- Only observations dated inside the window count: evidence dated after go-live never moves
-- a baseline.
baseline_stats as (

    select
        initiative_id,
        kpi_id,
        unit_id,
        {{ kpi_mean('aggregation', 'observed_value', 'weight') }} as baseline_mean,
        stddev_samp(observed_value) as baseline_sd,
        count(*) as baseline_observations,
        max(loaded_at) as baseline_last_loaded_at

    from baseline_observations
    group by
        initiative_id,
        kpi_id,
        unit_id,
        aggregation

),

final as (

    select
        treated_units.initiative_id,
        treated_units.kpi_id,
        treated_units.unit_id,
        treated_units.go_live_on,
        treated_units.aggregation,
        treated_units.baseline_starts_on,
        treated_units.baseline_ends_on,
        baseline_stats.baseline_mean,
        baseline_stats.baseline_sd,
        coalesce(baseline_stats.baseline_observations, 0) as baseline_observations,
        cast(coalesce(baseline_stats.baseline_observations, 0) as {{ type_double() }})
        / treated_units.baseline_days as baseline_coverage,
        coalesce(baseline_stats.baseline_observations, 0)
        >= treated_units.min_observations as has_min_observations,
        baseline_stats.baseline_last_loaded_at

    from treated_units
    left join baseline_stats
        on
            treated_units.initiative_id = baseline_stats.initiative_id
            and treated_units.kpi_id = baseline_stats.kpi_id
            and treated_units.unit_id = baseline_stats.unit_id

)

select * from final
