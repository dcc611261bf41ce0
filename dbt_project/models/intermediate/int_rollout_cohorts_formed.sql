-- One row per initiative x KPI x go-live date: a cohort is the set of units going live on the
-- same day, so its units share one baseline window, one ramp-up and one first post month, and
-- control units are compared over exactly the same calendar days.
with

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

cohorts as (

    select
        rollout.initiative_id,
        initiative_kpis.kpi_id,
        rollout.go_live_on,
        initiative_kpis.estimate_key,
        kpis.aggregation,
        initiative_kpis.direction,
        initiatives.baseline_days,
        initiatives.ramp_up_days,
        initiatives.min_observations,
        initiatives.baseline_grace_days,
        count(*) as n_units

    from rollout
    inner join initiative_kpis
        on rollout.initiative_id = initiative_kpis.initiative_id
    inner join initiatives
        on rollout.initiative_id = initiatives.initiative_id
    inner join kpis
        on initiative_kpis.kpi_id = kpis.kpi_id
    group by
        rollout.initiative_id,
        initiative_kpis.kpi_id,
        rollout.go_live_on,
        initiative_kpis.estimate_key,
        kpis.aggregation,
        initiative_kpis.direction,
        initiatives.baseline_days,
        initiatives.ramp_up_days,
        initiatives.min_observations,
        initiatives.baseline_grace_days

),

windows as (

    select
        *,
        cast(
            {{ dbt.dateadd('day', '-1 * baseline_days', 'go_live_on') }} as date
        ) as baseline_starts_on,
        cast({{ dbt.dateadd('day', -1, 'go_live_on') }} as date) as baseline_ends_on,
        cast({{ dbt.dateadd('day', 'ramp_up_days', 'go_live_on') }} as date) as post_starts_on,
        {{ month_start('go_live_on') }} as go_live_month

    from cohorts

),

final as (

    select
        initiative_id,
        kpi_id,
        go_live_on,
        estimate_key,
        {{ integer_key(['initiative_id', 'kpi_id', 'go_live_on']) }} as cohort_key,
        aggregation,
        direction,
        baseline_days,
        ramp_up_days,
        min_observations,
        baseline_grace_days,
        cast(n_units as integer) as n_units,
        baseline_starts_on,
        baseline_ends_on,
        post_starts_on,
        go_live_month,
        -- The first whole calendar month after the ramp-up: the month the ramp-up ends in is
        -- left out, so no cell mixes ramp-up and post days.
        cast(
            {{ dbt.dateadd(
                'month', 1,
                month_start(dbt.dateadd('day', -1, 'post_starts_on'))
            ) }} as date
        ) as first_post_month

    from windows

)

select * from final
