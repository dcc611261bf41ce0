-- Which units need a baseline over each cohort's window: the cohort's own units (treated) and
-- every other unit that reports the KPI and is not yet live on any initiative moving the KPI
-- when the cohort goes live (control candidates). Also when the window freezes for each unit.
with

cohorts as (

    select * from {{ ref('int_rollout_cohorts_formed') }}

),

rollout as (

    select * from {{ ref('stg_portfolio__rollout') }}

),

initiative_kpis as (

    select * from {{ ref('stg_portfolio__initiative_kpis') }}

),

unit_months as (

    select * from {{ ref('int_unit_months_aggregated') }}

),

-- From its first go-live on any initiative that moves the KPI, a unit is treated for that KPI
-- and can no longer be anyone's control.
kpi_go_lives as (

    select
        initiative_kpis.kpi_id,
        rollout.unit_id,
        min(rollout.go_live_on) as kpi_first_go_live_on

    from rollout
    inner join initiative_kpis
        on rollout.initiative_id = initiative_kpis.initiative_id
    group by
        initiative_kpis.kpi_id,
        rollout.unit_id

),

-- When each unit x KPI series first reached the warehouse (a backfill, or the first daily load).
unit_series as (

    select
        kpi_id,
        unit_id,
        min(first_loaded_at) as series_first_loaded_at

    from unit_months
    group by
        kpi_id,
        unit_id

),

treated_units as (

    select
        cohorts.initiative_id,
        cohorts.kpi_id,
        cohorts.go_live_on,
        rollout.unit_id,
        true as is_treated

    from cohorts
    inner join rollout
        on
            cohorts.initiative_id = rollout.initiative_id
            and cohorts.go_live_on = rollout.go_live_on

),

control_units as (

    select
        cohorts.initiative_id,
        cohorts.kpi_id,
        cohorts.go_live_on,
        unit_series.unit_id,
        false as is_treated

    from cohorts
    inner join unit_series
        on cohorts.kpi_id = unit_series.kpi_id
    left join kpi_go_lives
        on
            unit_series.kpi_id = kpi_go_lives.kpi_id
            and unit_series.unit_id = kpi_go_lives.unit_id
    where
        kpi_go_lives.kpi_first_go_live_on is null
        or kpi_go_lives.kpi_first_go_live_on > cohorts.go_live_on

),

selected as (

    select * from treated_units
    union all
    select * from control_units

),

final as (

    select
        selected.initiative_id,
        selected.kpi_id,
        selected.go_live_on,
        selected.unit_id,
        cohorts.cohort_key,
        {{ integer_key(['selected.unit_id']) }} as unit_key,
        selected.is_treated,
        cohorts.aggregation,
        cohorts.baseline_days,
        cohorts.min_observations,
        cohorts.baseline_starts_on,
        cohorts.baseline_ends_on,
        kpi_go_lives.kpi_first_go_live_on,
        unit_series.series_first_loaded_at,
        -- Frozen at the end of the ramp-up, or, when the series arrived later (a backfill),
        -- grace days after its first load, whichever is later.
        case
            when
                unit_series.series_first_loaded_at is not null
                and {{ dbt.dateadd(
                    'day', 'cohorts.baseline_grace_days', 'unit_series.series_first_loaded_at'
                ) }}
                > cast(cohorts.post_starts_on as {{ dbt.type_timestamp() }})
                then cast({{ dbt.dateadd(
                    'day', 'cohorts.baseline_grace_days', 'unit_series.series_first_loaded_at'
                ) }} as {{ dbt.type_timestamp() }})
            else cast(cohorts.post_starts_on as {{ dbt.type_timestamp() }})
        end as baseline_frozen_at

    from selected
    inner join cohorts
        on
            selected.initiative_id = cohorts.initiative_id
            and selected.kpi_id = cohorts.kpi_id
            and selected.go_live_on = cohorts.go_live_on
    left join kpi_go_lives
        on
            selected.kpi_id = kpi_go_lives.kpi_id
            and selected.unit_id = kpi_go_lives.unit_id
    left join unit_series
        on
            selected.kpi_id = unit_series.kpi_id
            and selected.unit_id = unit_series.unit_id

)

select * from final
