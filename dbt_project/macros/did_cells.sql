{#
    One row per cohort x calendar month: the difference-in-differences of the cell, the mean
    change of its treated units minus the mean change of its control units (each unit counts
    once). A cell is identified only with at least 2 treated and 2 control units: with fewer,
    the change cannot be told apart from the trend, or its uncertainty cannot be estimated, and
    the cell is dropped (cell_status says why) rather than folded into an estimate.

    Each group also carries its mean frozen baseline: the CUPED-adjusted cell effect is
    cell_effect - theta x (treated_mean_baseline - control_mean_baseline), so the adjusted
    estimate needs no second copy of the unit-months (fct_initiative_kpi_adjusted_effects).

    unit_months: a relation shaped like int_unit_months_differenced. Grouped by its integer
    cohort_key (macros/integer_key.sql); the cohorts' ids come from int_rollout_cohorts_formed.
#}
{% macro did_cells(unit_months) %}
with

unit_months as (

    select * from {{ unit_months }}

),

cohorts as (

    select * from {{ ref('int_rollout_cohorts_formed') }}

),

groups as (

    select
        cohort_key,
        observed_month,
        event_month,
        is_post_period,
        is_treated,
        count(*) as n_units,
        avg(change_value) as mean_change,
        avg(baseline_mean) as mean_baseline,
        sum(observations) as observations,
        sum(volume) as volume

    from unit_months
    group by
        cohort_key,
        observed_month,
        event_month,
        is_post_period,
        is_treated

),

cells as (

    select
        cohorts.initiative_id,
        cohorts.kpi_id,
        cohorts.go_live_on,
        cohorts.estimate_key,
        treated.cohort_key,
        treated.observed_month,
        treated.event_month,
        treated.is_post_period,
        treated.n_units as n_treated_units,
        treated.mean_change as treated_mean_change,
        treated.observations as treated_observations,
        treated.volume as treated_volume,
        controls.mean_change as control_mean_change,
        treated.mean_baseline as treated_mean_baseline,
        controls.mean_baseline as control_mean_baseline,
        coalesce(controls.n_units, 0) as n_control_units

    from groups as treated
    inner join cohorts
        on treated.cohort_key = cohorts.cohort_key
    left join groups as controls
        on
            treated.cohort_key = controls.cohort_key
            and treated.observed_month = controls.observed_month
            and not controls.is_treated
    where treated.is_treated

),

final as (

    select
        initiative_id,
        kpi_id,
        go_live_on,
        estimate_key,
        cohort_key,
        observed_month,
        event_month,
        is_post_period,
        cast(n_treated_units as integer) as n_treated_units,
        cast(n_control_units as integer) as n_control_units,
        treated_mean_change,
        control_mean_change,
        treated_mean_baseline,
        control_mean_baseline,
        cast(treated_observations as bigint) as treated_observations,
        treated_volume,
        case
            when n_control_units >= 2 and n_treated_units >= 2
                then treated_mean_change - control_mean_change
        end as cell_effect,
        case
            when n_control_units = 0 then 'no control units'
            when n_treated_units < 2 then 'too few treated units'
            when n_control_units < 2 then 'too few control units'
            else 'identified'
        end as cell_status,
        n_control_units >= 2 and n_treated_units >= 2 as is_identified

    from cells

)

select * from final
{% endmacro %}
