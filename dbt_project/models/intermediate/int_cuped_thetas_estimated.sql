-- One row per initiative x KPI: the CUPED coefficient of the unit's own pre-period level (its
-- frozen baseline mean X), estimated from pre-period months only. The difference-in-differences
-- outcome is D = Y - X (theta = 1); regressing D on X within cells of months that lie wholly
-- before the baseline window (no unit is treated yet, and, like a post month, such a month
-- shares no observation with X) gives theta_d, and the best coefficient is theta = 1 + theta_d.
-- Months inside the window are left out: they are part of X, which biases theta_d to zero.
-- Pooled within cells (cohort x month, treated and control units alike), so calendar shocks and
-- cohort differences do not enter. Fewer than 20 pre-window unit-months: theta_d = 0 (the plain
-- estimate), since a coefficient from a handful of points adds noise rather than removing it.
-- A table, not a view: one row per estimate, but computed from the 4.8M pre-period unit-months
-- at 50M observations (10 s), and fct_initiative_kpi_adjusted_effects reads it three times.
-- A partition run estimates again only the initiative x KPIs whose pre-window months it
-- re-processed or whose baselines moved (macros/observation_months.sql): a daily run's month
-- lies in no pre-window but those of rollouts still to come.
{{ incremental_on_partition_runs("{{ delete_rebuilt_theta_estimates() }}") }}

with

unit_months as (

    select * from {{ ref('int_unit_months_differenced') }}
    where not is_post_period
    {%- if is_partition_run() %}
        and {{ rebuilt_theta_estimate(by_cohort=true) }}
    {%- endif %}

),

cohorts as (

    select * from {{ ref('int_rollout_cohorts_formed') }}

),

initiative_kpis as (

    select * from {{ ref('stg_portfolio__initiative_kpis') }}

),

pre_window as (

    select
        cohorts.estimate_key,
        unit_months.cohort_key,
        unit_months.observed_month,
        unit_months.unit_key,
        unit_months.baseline_mean,
        unit_months.change_value

    from unit_months
    inner join cohorts
        on
            unit_months.cohort_key = cohorts.cohort_key
    where {{ dbt.dateadd('month', 1, 'unit_months.observed_month') }} <= cohorts.baseline_starts_on

),

centred as (

    select
        estimate_key,
        unit_key,
        baseline_mean - avg(baseline_mean) over (
            partition by cohort_key, observed_month
        ) as level_deviation,
        change_value - avg(change_value) over (
            partition by cohort_key, observed_month
        ) as change_deviation

    from pre_window

),

thetas as (

    select
        estimate_key,
        cast(count(*) as integer) as n_theta_unit_months,
        cast(count(distinct unit_key) as integer) as n_theta_units,
        cast(
            case
                when count(*) >= 20
                    then
                        coalesce(
                            sum(change_deviation * level_deviation)
                            / nullif(sum(level_deviation * level_deviation), 0),
                            0
                        )
                else 0
            end as {{ type_double() }}
        ) as theta_difference

    from centred
    group by
        estimate_key

),

final as (

    select
        initiative_kpis.initiative_id,
        initiative_kpis.kpi_id,
        thetas.n_theta_unit_months,
        thetas.n_theta_units,
        thetas.theta_difference

    from thetas
    inner join initiative_kpis
        on thetas.estimate_key = initiative_kpis.estimate_key

)

select * from final
