-- A table: marts and its tests read it.
{{ config(materialized='table') }}

with

post_observations as (

    select * from {{ ref('int_observations_joined_to_rollouts') }}
    where measurement_period = 'post'

),

baselines as (

    select * from {{ ref('int_baselines_frozen') }}
    where is_treated

),

-- The whole post-ramp-up window of each treated unit, not month by month.
to_date as (

    select
        initiative_id,
        kpi_id,
        unit_id,
        direction,
        {{ kpi_mean('aggregation', 'observed_value', 'weight') }} as actual_mean,
        min(observed_on) as post_starts_on,
        max(observed_on) as post_ends_on,
        sum(coalesce(weight, 1)) as volume,
        count(*) as observations

    from post_observations
    group by
        initiative_id,
        kpi_id,
        unit_id,
        direction,
        aggregation

),

changes as (

    select
        to_date.initiative_id,
        to_date.kpi_id,
        to_date.unit_id,
        to_date.direction,
        to_date.post_starts_on,
        to_date.post_ends_on,
        to_date.actual_mean,
        baselines.baseline_mean,
        baselines.has_min_observations,
        to_date.volume,
        to_date.observations,
        to_date.actual_mean - baselines.baseline_mean as change_value,
        case when to_date.direction = 'increase' then 1 else -1 end as favourable_sign

    from to_date
    inner join baselines
        on
            to_date.initiative_id = baselines.initiative_id
            and to_date.kpi_id = baselines.kpi_id
            and to_date.unit_id = baselines.unit_id

),

final as (

    select
        initiative_id,
        kpi_id,
        unit_id,
        direction,
        post_starts_on,
        post_ends_on,
        actual_mean,
        baseline_mean,
        has_min_observations,
        change_value,
        volume,
        observations,
        change_value / nullif(baseline_mean, 0) as change_relative,
        change_value * favourable_sign as favourable_change

    from changes

)

select * from final
