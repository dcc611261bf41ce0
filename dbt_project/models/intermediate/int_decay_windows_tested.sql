-- One row per initiative x KPI x evaluation month: the value decay test (docs/method.md
-- "Decision-grade statistics"). At each month m of the identified post period with at least
-- 3 earlier months, the recent level is the attributed effect over the trailing 3 months
-- (m - 2 .. m) and the earlier level the effect over every post month before them; both are
-- treated-observation weighted means of their cells (within cohorts, below). Their
-- difference is linear in the units' changes, so its unit-clustered standard error comes from
-- per-unit influences (recent weights +, earlier weights -) as in int_unit_influences_summed.
-- A decline: one-sided t test of the favourable difference, alpha 0.01 (strict, because the
-- test is repeated every month), with an earlier level above zero (there was value to fade).
-- An evaluation reads the cells up to its month, so a partition run re-tests the months from
-- its earliest one on, and every month of an estimate with a moved baseline
-- (macros/observation_months.sql); earlier evaluations keep their rows.
{{ incremental_on_partition_runs("{{ delete_rebuilt_decay_evaluations() }}") }}

with

unit_months as (

    select * from {{ ref('int_unit_months_differenced') }}
    where is_post_period

),

initiative_kpis as (

    select * from {{ ref('stg_portfolio__initiative_kpis') }}

),

cells as (

    select
        *,
        dense_rank() over (partition by estimate_key order by observed_month)
            as month_index

    from {{ ref('int_cells_estimated') }}
    where is_post_period and is_identified

),

evaluations as (

    select distinct
        estimate_key,
        observed_month as evaluated_month,
        month_index as evaluated_index

    from cells
    where month_index >= 6
    {%- if is_partition_run() %}
        and {{ rebuilt_decay_evaluation('observed_month') }}
    {%- endif %}

),

cell_windows as (

    select
        cells.estimate_key,
        cells.cohort_key,
        cells.observed_month,
        cells.cell_effect,
        cells.treated_mean_change,
        cells.control_mean_change,
        cells.n_treated_units,
        cells.n_control_units,
        cells.treated_observations,
        evaluations.evaluated_month,
        cells.month_index > evaluations.evaluated_index - 3 as is_recent

    from cells
    inner join evaluations
        on
            cells.estimate_key = evaluations.estimate_key
            and cells.month_index <= evaluations.evaluated_index

),

-- Compared within cohorts, so a change in the cohort mix (a later cohort entering the recent
-- window) is not read as decay: only cohorts with cells in both windows count; cohort g weighs
-- pi_g, its share of the recent treated observations, and its earlier cells are re-weighted to
-- the same share. Recent cells weigh +w, earlier cells -w: the sum is recent minus earlier.
cohort_totals as (

    select
        *,
        sum(treated_observations) over (
            partition by estimate_key, evaluated_month, cohort_key, is_recent
        ) as window_cohort_observations,
        -- Which windows the cohort has cells in (no count(distinct) over a window on PostgreSQL).
        max(case when is_recent then 1 else 0 end) over (
            partition by estimate_key, evaluated_month, cohort_key
        ) as has_recent_cells,
        max(case when is_recent then 0 else 1 end) over (
            partition by estimate_key, evaluated_month, cohort_key
        ) as has_earlier_cells

    from cell_windows

),

recent_shares as (

    select
        *,
        cast(
            sum(case when is_recent then treated_observations else 0 end)
                over (partition by estimate_key, evaluated_month, cohort_key)
            as {{ type_double() }}
        )
        / sum(case when is_recent then treated_observations else 0 end)
            over (partition by estimate_key, evaluated_month)
            as cohort_share

    from cohort_totals
    where has_recent_cells = 1 and has_earlier_cells = 1

),

weighted as (

    select
        *,
        case when is_recent then 1 else -1 end
        * cohort_share
        * cast(treated_observations as {{ type_double() }})
        / window_cohort_observations as signed_weight

    from recent_shares

),

levels as (

    select
        estimate_key,
        evaluated_month,
        sum(case when is_recent then signed_weight * cell_effect else 0 end) as recent_change,
        -sum(case when is_recent then 0 else signed_weight * cell_effect end) as earlier_change,
        count(distinct case when is_recent then observed_month end) as n_recent_months,
        count(distinct case when is_recent then null else observed_month end)
            as n_earlier_months

    from weighted
    group by
        estimate_key,
        evaluated_month

),

-- Every unit-cell once per evaluation month (219M rows at 50M observations): joined and
-- summed on the integer keys (macros/integer_key.sql), the text ids join back at the end.
unit_residuals as (

    select
        weighted.estimate_key,
        unit_months.unit_key,
        weighted.evaluated_month,
        unit_months.is_treated,
        weighted.signed_weight
        * case when unit_months.is_treated then 1.0 else -1.0 end
        / case
            when unit_months.is_treated then weighted.n_treated_units
            else weighted.n_control_units
        end as design_influence,
        weighted.signed_weight
        * case when unit_months.is_treated then 1.0 else -1.0 end
        * (
            unit_months.change_value
            - case
                when unit_months.is_treated then weighted.treated_mean_change
                else weighted.control_mean_change
            end
        )
        * {{ cell_residual_scale(
            'case when unit_months.is_treated then weighted.n_treated_units '
            ~ 'else weighted.n_control_units end'
        ) }} as influence

    from unit_months
    inner join weighted
        on
            unit_months.cohort_key = weighted.cohort_key
            and unit_months.observed_month = weighted.observed_month

),

unit_influences as (

    select
        estimate_key,
        evaluated_month,
        unit_key,
        sum(influence) as influence,
        -- A unit in every cell of its cohort's two windows has a design influence of exactly 0
        -- (its recent and earlier weights cancel); in floating point it is +-1e-17, and the
        -- degrees of freedom of such residue would be noise (they varied run to run). Design
        -- influences are at most 1 in size, so below 1e-12 is the cancellation.
        case
            when abs(sum(design_influence)) < 1e-12 then 0
            else sum(design_influence)
        end as design_influence,
        max(case when is_treated then 1 else 0 end) = 1 as is_treated_unit

    from unit_residuals
    group by
        estimate_key,
        evaluated_month,
        unit_key

),

variance as (

    select
        estimate_key,
        evaluated_month,
        {{ clustered_variance('influence', 'design_influence', 'is_treated_unit') }}

    from unit_influences
    group by
        estimate_key,
        evaluated_month

),

favourable as (

    select
        estimate_key,
        initiative_id,
        kpi_id,
        case when direction = 'increase' then 1 else -1 end as sign

    from initiative_kpis

),

tested as (

    select
        favourable.initiative_id,
        favourable.kpi_id,
        levels.evaluated_month,
        levels.n_earlier_months,
        levels.n_recent_months,
        levels.earlier_change * favourable.sign as earlier_favourable_change,
        levels.recent_change * favourable.sign as recent_favourable_change,
        (levels.recent_change - levels.earlier_change) * favourable.sign as difference,
        sqrt(variance.effect_variance) as standard_error,
        {{ welch_degrees_of_freedom(
            'variance.treated_design_variance', 'variance.n_treated_units',
            'variance.control_design_variance', 'variance.n_control_only_units'
        ) }} as degrees_of_freedom

    from levels
    inner join variance
        on
            levels.estimate_key = variance.estimate_key
            and levels.evaluated_month = variance.evaluated_month
    inner join favourable
        on levels.estimate_key = favourable.estimate_key
    where levels.n_earlier_months >= 3

),

final as (

    select
        initiative_id,
        kpi_id,
        evaluated_month,
        cast(n_earlier_months as integer) as n_earlier_months,
        cast(n_recent_months as integer) as n_recent_months,
        cast(earlier_favourable_change as {{ type_double() }}) as earlier_favourable_change,
        cast(recent_favourable_change as {{ type_double() }}) as recent_favourable_change,
        cast(difference as {{ type_double() }}) as difference,
        cast(standard_error as {{ type_double() }}) as standard_error,
        cast(degrees_of_freedom as {{ type_double() }}) as degrees_of_freedom,
        cast(difference / nullif(standard_error, 0) as {{ type_double() }}) as t_statistic,
        cast(
            {{ t_critical('degrees_of_freedom', 2.3263478740408408, 0.01) }}
            as {{ type_double() }}
        ) as critical_value,
        coalesce(
            earlier_favourable_change > 0
            and difference / nullif(standard_error, 0)
            < -{{ t_critical('degrees_of_freedom', 2.3263478740408408, 0.01) }},
            false
        ) as is_decline

    from tested

)

select * from final
