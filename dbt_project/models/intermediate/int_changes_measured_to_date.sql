-- A table: marts and its tests read it. The months of the naive changes pooled: a month's
-- mean times its weights (volume for ratio KPIs, the observation count otherwise) is its sum,
-- so the pooled mean is that of every post observation, without reading them again (reading
-- them cost 5-6 s of a partition run at 50M observations).
{{ config(materialized='table') }}

with

months as (

    select * from {{ ref('int_changes_measured_naive') }}

),

baselines as (

    select * from {{ ref('int_baselines_frozen') }}
    where is_treated

),

months_weighted as (

    select
        initiative_id,
        kpi_id,
        unit_id,
        direction,
        actual_mean,
        first_observed_on,
        last_observed_on,
        volume,
        observations,
        case when aggregation = 'ratio' then volume else observations end as mean_weight

    from months

),

-- The whole post-ramp-up window of each treated unit, not month by month.
to_date as (

    select
        initiative_id,
        kpi_id,
        unit_id,
        direction,
        sum(actual_mean * mean_weight) / nullif(sum(mean_weight), 0) as actual_mean,
        min(first_observed_on) as post_starts_on,
        max(last_observed_on) as post_ends_on,
        sum(volume) as volume,
        sum(observations) as observations

    from months_weighted
    group by
        initiative_id,
        kpi_id,
        unit_id,
        direction

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
