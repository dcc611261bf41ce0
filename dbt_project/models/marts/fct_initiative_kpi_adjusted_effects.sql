-- One row per initiative x KPI: the attributed change beside its CUPED-adjusted twin (variance
-- reduction with the unit's own pre-period level, docs/method.md "Decision-grade statistics").
-- Same cells, weights, unit-clustered standard error and t interval; only the outcome differs.
-- interval_width_ratio < 1: the adjustment narrowed the interval. The difference between the
-- two estimates has its own clustered standard error (per unit, adjusted minus unadjusted
-- influence), so "within noise" is testable.
with

effects as (

    select * from {{ ref('fct_initiative_kpi_effects') }}

),

thetas as (

    select * from {{ ref('int_cuped_thetas_estimated') }}

),

cells as (

    select * from {{ ref('int_cells_estimated') }}
    where is_post_period and is_identified

),

influences as (

    select * from {{ ref('int_unit_influences_summed') }}

),

-- The adjusted cell effect: the outcome D - theta x (X - mean X of the cell) moves each
-- group's mean change by theta x (its mean X - the cell's), so the cell's mean X cancels.
adjusted_change as (

    select
        cells.initiative_id,
        cells.kpi_id,
        sum(
            cells.treated_observations
            * (
                cells.cell_effect
                - coalesce(thetas.theta_difference, 0)
                * (cells.treated_mean_baseline - cells.control_mean_baseline)
            )
        )
        / nullif(sum(cells.treated_observations), 0) as adjusted_change

    from cells
    left join thetas
        on
            cells.initiative_id = thetas.initiative_id
            and cells.kpi_id = thetas.kpi_id
    group by
        cells.initiative_id,
        cells.kpi_id

),

-- A unit's influence on the adjusted estimate: its residuals move by theta x its baseline
-- residuals (macros/did_unit_influences.sql), so the difference is -theta x baseline_influence.
unit_influences as (

    select
        influences.initiative_id,
        influences.kpi_id,
        influences.is_treated_unit,
        influences.effect_design_influence,
        influences.effect_influence
        - coalesce(thetas.theta_difference, 0) * influences.baseline_influence
            as effect_influence,
        -coalesce(thetas.theta_difference, 0) * influences.baseline_influence
            as difference_influence

    from influences
    left join thetas
        on
            influences.initiative_id = thetas.initiative_id
            and influences.kpi_id = thetas.kpi_id

),

variance as (

    select
        initiative_id,
        kpi_id,
        {{ clustered_variance('effect_influence', 'effect_design_influence', 'is_treated_unit') }},
        sum(difference_influence * difference_influence) as difference_variance

    from unit_influences
    group by
        initiative_id,
        kpi_id

),

joined as (

    select
        effects.initiative_id,
        effects.kpi_id,
        effects.evidence_verdict,
        effects.attributed_favourable_change,
        effects.standard_error,
        effects.ci_low,
        effects.ci_high,
        thetas.n_theta_unit_months,
        1 + coalesce(thetas.theta_difference, 0) as cuped_theta,
        adjusted_change.adjusted_change
        * case when effects.direction = 'increase' then 1 else -1 end
            as adjusted_favourable_change,
        sqrt(variance.effect_variance) as adjusted_standard_error,
        sqrt(variance.difference_variance) as difference_standard_error,
        {{ welch_degrees_of_freedom(
            'variance.treated_design_variance', 'variance.n_treated_units',
            'variance.control_design_variance', 'variance.n_control_only_units'
        ) }} as adjusted_degrees_of_freedom

    from effects
    left join thetas
        on
            effects.initiative_id = thetas.initiative_id
            and effects.kpi_id = thetas.kpi_id
    left join adjusted_change
        on
            effects.initiative_id = adjusted_change.initiative_id
            and effects.kpi_id = adjusted_change.kpi_id
    left join variance
        on
            effects.initiative_id = variance.initiative_id
            and effects.kpi_id = variance.kpi_id

),

intervals as (

    select
        *,
        {{ t_critical('adjusted_degrees_of_freedom', 1.959963984540054, 0.025) }}
        * adjusted_standard_error as adjusted_margin

    from joined

),

final as (

    select
        initiative_id,
        kpi_id,
        evidence_verdict,
        cast(coalesce(n_theta_unit_months, 0) as integer) as n_theta_unit_months,
        cast(cuped_theta as {{ type_double() }}) as cuped_theta,
        attributed_favourable_change,
        standard_error,
        ci_low,
        ci_high,
        cast(adjusted_favourable_change as {{ type_double() }}) as adjusted_favourable_change,
        cast(adjusted_standard_error as {{ type_double() }}) as adjusted_standard_error,
        cast(adjusted_degrees_of_freedom as {{ type_double() }}) as adjusted_degrees_of_freedom,
        cast(
            adjusted_favourable_change - adjusted_margin as {{ type_double() }}
        ) as adjusted_ci_low,
        cast(
            adjusted_favourable_change + adjusted_margin as {{ type_double() }}
        ) as adjusted_ci_high,
        cast(
            adjusted_favourable_change - attributed_favourable_change as {{ type_double() }}
        ) as adjustment_difference,
        cast(difference_standard_error as {{ type_double() }}) as difference_standard_error,
        cast(
            2 * adjusted_margin / nullif(ci_high - ci_low, 0) as {{ type_double() }}
        ) as interval_width_ratio

    from intervals

)

select * from final
