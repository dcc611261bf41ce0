-- Each unit's monthly mean minus its frozen baseline over a cohort's window, for the months a
-- cohort is measured in: up to `event_months_before` whole months before its go-live month
-- (pre-periods, for the placebo test) and every month from its first post month (the ramp-up
-- months in between are left out). Treated rows are the cohort's units; control rows are
-- units no initiative moving the KPI has reached by the end of the month (never treated, or
-- not yet), so already-treated units are never controls.
-- A table, not a view: several models read it, and at scale it should be computed once.
-- Its rows name their cohort and unit by integer keys only (macros/integer_key.sql; the ids
-- are in int_rollout_cohorts_formed and int_baselines_frozen), and not the month's mean
-- (baseline_mean + change_value): at 50M observations the 38.7M rows took 10.5-10.8 s to
-- write with the four text ids and the mean, 5.5 s without.
-- A partition run rewrites only its months and the cohort x units whose baseline moved
-- (macros/observation_months.sql); a full run builds the table.
{{ incremental_on_partition_runs(
    [
        "{{ record_moved_baselines() }}",
        "{{ delete_rebuilt_cohort_unit_months() }}",
    ],
    "{{ record_held_baselines() }}",
) }}
{%- set rebuild_only_changed = is_partition_run() %}
{%- set moved = moved_baselines_relation(this) if rebuild_only_changed else none %}

with

baselines as (

    select * from {{ ref('int_baselines_frozen') }}
    where has_min_observations

),

cohorts as (

    select * from {{ ref('int_rollout_cohorts_formed') }}

),

unit_months as (

    select * from {{ ref('int_unit_months_aggregated') }}
    {%- if rebuild_only_changed %}
    where
        observed_month in {{ observation_months_list() }}
        or (kpi_id, unit_id) in (select kpi_id, unit_id from {{ moved }})
    {%- endif %}

),

joined as (

    select
        baselines.cohort_key,
        baselines.unit_key,
        baselines.is_treated,
        baselines.kpi_first_go_live_on,
        baselines.baseline_mean,
        cohorts.first_post_month,
        unit_months.observed_month,
        unit_months.month_mean,
        unit_months.observations,
        unit_months.volume,
        cast(
            {{ dbt.datediff('cohorts.go_live_month', 'unit_months.observed_month', 'month') }}
            as integer
        ) as event_month,
        cast(
            {{ dbt.dateadd('month', 1, 'unit_months.observed_month') }} as date
        ) as next_month

    from baselines
    inner join cohorts
        on baselines.cohort_key = cohorts.cohort_key
    inner join unit_months
        on
            baselines.kpi_id = unit_months.kpi_id
            and baselines.unit_id = unit_months.unit_id

),

measured as (

    select
        *,
        observed_month >= first_post_month as is_post_period

    from joined
    where
        (
            observed_month >= first_post_month
            or (event_month < 0 and event_month >= -{{ var('event_months_before') }})
        )
        and (
            is_treated
            or kpi_first_go_live_on is null
            or kpi_first_go_live_on >= next_month
        )

),

final as (

    select
        cohort_key,
        unit_key,
        observed_month,
        event_month,
        is_treated,
        is_post_period,
        baseline_mean,
        observations,
        volume,
        month_mean - baseline_mean as change_value

    from measured
    {%- if rebuild_only_changed %}
    where {{ rebuilt_cohort_unit_month(moved) }}
    {%- endif %}

)

select * from final
