-- A table: marts, its tests and the to-date changes read it. Each month keeps its first and
-- last day and the weights of its mean, so the to-date changes pool the months instead of
-- reading every post observation again.
-- A partition run rewrites only its months and the units whose baseline moved
-- (macros/observation_months.sql); a full run builds the table.
{{ incremental_on_partition_runs(
    [
        "{{ record_moved_naive_baselines() }}",
        "{{ delete_rebuilt_naive_changes() }}",
    ],
) }}

{%- set rebuild_only_changed = is_partition_run() %}

with

post_observations as (

    select * from {{ ref('int_observations_joined_to_rollouts') }}
    where measurement_period = 'post'
    {%- if rebuild_only_changed %}
        and {{ in_observation_months('observed_on') }}

    -- The other months of the units whose baseline moved (usually none).
    union all

    select joined.*
    from {{ ref('int_observations_joined_to_rollouts') }} as joined
    inner join {{ moved_baselines_relation(this) }} as moved
        on
            joined.initiative_id = moved.initiative_id
            and joined.kpi_id = moved.kpi_id
            and joined.unit_id = moved.unit_id
    where
        joined.measurement_period = 'post'
        and not {{ in_observation_months('joined.observed_on') }}
    {%- endif %}

),

baselines as (

    select * from {{ ref('int_baselines_frozen') }}
    where is_treated

),

observations_by_month as (

    select
        initiative_id,
        kpi_id,
        unit_id,
        aggregation,
        direction,
        observed_on,
        observed_value,
        weight,
        {{ month_start('observed_on') }} as observed_month

    from post_observations

),

monthly as (

    select
        initiative_id,
        kpi_id,
        unit_id,
        observed_month,
        direction,
        aggregation,
        {{ kpi_mean('aggregation', 'observed_value', 'weight') }} as actual_mean,
        min(observed_on) as first_observed_on,
        max(observed_on) as last_observed_on,
        sum(coalesce(weight, 1)) as volume,
        count(*) as observations

    from observations_by_month
    group by
        initiative_id,
        kpi_id,
        unit_id,
        observed_month,
        direction,
        aggregation

),

changes as (

    select
        monthly.initiative_id,
        monthly.kpi_id,
        monthly.unit_id,
        monthly.observed_month,
        monthly.direction,
        monthly.aggregation,
        monthly.actual_mean,
        monthly.first_observed_on,
        monthly.last_observed_on,
        baselines.baseline_mean,
        baselines.has_min_observations,
        monthly.volume,
        monthly.observations,
        monthly.actual_mean - baselines.baseline_mean as change_value,
        case when monthly.direction = 'increase' then 1 else -1 end as favourable_sign

    from monthly
    inner join baselines
        on
            monthly.initiative_id = baselines.initiative_id
            and monthly.kpi_id = baselines.kpi_id
            and monthly.unit_id = baselines.unit_id

),

final as (

    select
        initiative_id,
        kpi_id,
        unit_id,
        observed_month,
        direction,
        aggregation,
        actual_mean,
        first_observed_on,
        last_observed_on,
        baseline_mean,
        has_min_observations,
        change_value,
        volume,
        observations,
        change_value * favourable_sign as favourable_change

    from changes

)

select * from final
