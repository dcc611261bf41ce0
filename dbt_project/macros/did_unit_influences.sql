{#
    Each unit's influence on an estimate: how much the estimate moves with that unit's residuals.
    Every estimate is a weighted sum of identified cells (sum of weight x cell effect), and a
    cell effect is a difference of two unit means, so the estimate is linear in the units'
    changes. A unit's influence sums, over all the cells it is in (as treated or as control, in
    any cohort), weight x (+1 treated, -1 control) / n x residual, where the residual is its
    change minus its group's mean in the cell, scaled by sqrt(n / (n - 1)) (CR2: unbiased for a
    cell mean of n units). The cluster-robust variance of the estimate is the sum over units of
    the squared influences (fct_initiative_kpi_effects, fct_initiative_kpi_event_study): units
    are the clusters, so a unit's months and its baseline are never treated as independent.

    The design influence replaces the residual by 1: under the working model (every unit equally
    noisy, its months perfectly correlated) the variance share each unit carries. The degrees of
    freedom come from it (Welch-Satterthwaite with design shares, as Bell and McCaffrey), so they
    do not grow when two treated units happen to look alike.

    Estimands: 'overall' (identified post cells weighted by treated observations, and the value
    to date, weighted by treated volume x value per unit) and 'event_month' (one per month
    relative to go-live, cells of that event month weighted by treated observations).

    The CUPED-adjusted twin of the overall effect comes from the same pass. Its outcome is
    D - theta x (X - mean X of the cell), X the frozen baseline, so a unit's residual is its
    change residual minus theta x its baseline residual within its group (the cell mean
    cancels), with the same cells and weights: its influence is effect_influence - theta x
    baseline_influence, theta per estimate (fct_initiative_kpi_adjusted_effects). A second copy
    of the cohort x unit x month rows for the adjusted outcome cost more than the estimate.

    unit_months: shaped like int_unit_months_differenced; cells: shaped like
    int_cells_estimated, built from the same unit_months. moved: on a partition run, the moved
    baselines; then only the event months it rebuilds (rebuilt_event_month) are computed.
#}
{% macro did_unit_influences(unit_months, cells, moved=none) %}
with

unit_months as (

    select * from {{ unit_months }}

),

cells as (

    select * from {{ cells }}
    where is_identified

),

initiative_kpis as (

    select * from {{ ref('stg_portfolio__initiative_kpis') }}

),

cell_weights as (

    select
        cells.initiative_id,
        cells.kpi_id,
        cells.go_live_on,
        cells.observed_month,
        cells.event_month,
        cells.is_post_period,
        cells.n_treated_units,
        cells.n_control_units,
        cells.treated_mean_change,
        cells.control_mean_change,
        cells.treated_mean_baseline,
        cells.control_mean_baseline,
        case
            when cells.is_post_period
                then
                    cast(cells.treated_observations as {{ type_double() }})
                    / sum(
                        case when cells.is_post_period then cells.treated_observations end
                    ) over (partition by cells.initiative_id, cells.kpi_id)
        end as effect_weight,
        case
            when cells.is_post_period
                then
                    cells.treated_volume
                    * initiative_kpis.value_per_unit
                    * case when initiative_kpis.direction = 'increase' then 1 else -1 end
        end as value_weight,
        case
            when cells.event_month <= {{ var('event_months_after') }}
                then
                    cast(cells.treated_observations as {{ type_double() }})
                    / sum(cells.treated_observations) over (
                        partition by cells.initiative_id, cells.kpi_id, cells.event_month
                    )
        end as event_weight

    from cells
    inner join initiative_kpis
        on
            cells.initiative_id = initiative_kpis.initiative_id
            and cells.kpi_id = initiative_kpis.kpi_id

),

unit_cells as (

    select
        unit_months.initiative_id,
        unit_months.kpi_id,
        unit_months.unit_id,
        unit_months.is_treated,
        unit_months.change_value,
        unit_months.baseline_mean,
        cell_weights.event_month,
        cell_weights.is_post_period,
        cell_weights.effect_weight,
        cell_weights.value_weight,
        cell_weights.event_weight,
        case
            when unit_months.is_treated then cell_weights.treated_mean_change
            else cell_weights.control_mean_change
        end as group_mean_change,
        case
            when unit_months.is_treated then cell_weights.treated_mean_baseline
            else cell_weights.control_mean_baseline
        end as group_mean_baseline,
        case
            when unit_months.is_treated then cell_weights.n_treated_units
            else cell_weights.n_control_units
        end as group_size

    from unit_months
    inner join cell_weights
        on
            unit_months.initiative_id = cell_weights.initiative_id
            and unit_months.kpi_id = cell_weights.kpi_id
            and unit_months.go_live_on = cell_weights.go_live_on
            and unit_months.observed_month = cell_weights.observed_month

),

residuals as (

    select
        initiative_id,
        kpi_id,
        unit_id,
        is_treated,
        event_month,
        is_post_period,
        effect_weight,
        value_weight,
        event_weight,
        case when is_treated then 1 else -1 end
        * (change_value - group_mean_change)
        * sqrt(group_size / (group_size - 1.0))
        / group_size as scaled_residual,
        case when is_treated then 1 else -1 end
        * (baseline_mean - group_mean_baseline)
        * sqrt(group_size / (group_size - 1.0))
        / group_size as scaled_baseline_residual,
        case when is_treated then 1.0 else -1.0 end / group_size as design_residual

    from unit_cells

),

overall as (

    select
        initiative_id,
        kpi_id,
        'overall' as estimand,
        cast(null as integer) as event_month,
        unit_id,
        sum(effect_weight * scaled_residual) as effect_influence,
        sum(value_weight * scaled_residual) as value_influence,
        sum(effect_weight * design_residual) as effect_design_influence,
        sum(value_weight * design_residual) as value_design_influence,
        sum(effect_weight * scaled_baseline_residual) as baseline_influence,
        max(case when is_treated then 1 else 0 end) = 1 as is_treated_unit,
        max(case when is_treated then 0 else 1 end) = 1 as is_control_unit

    from residuals
    where is_post_period
    group by
        initiative_id,
        kpi_id,
        unit_id

),

by_event_month as (

    select
        initiative_id,
        kpi_id,
        'event_month' as estimand,
        event_month,
        unit_id,
        sum(event_weight * scaled_residual) as effect_influence,
        cast(null as {{ type_double() }}) as value_influence,
        sum(event_weight * design_residual) as effect_design_influence,
        cast(null as {{ type_double() }}) as value_design_influence,
        cast(null as {{ type_double() }}) as baseline_influence,
        max(case when is_treated then 1 else 0 end) = 1 as is_treated_unit,
        max(case when is_treated then 0 else 1 end) = 1 as is_control_unit

    from residuals
    where
        event_weight is not null
        {%- if moved is not none %}
        and {{ rebuilt_event_month(moved) }}
        {%- endif %}
    group by
        initiative_id,
        kpi_id,
        event_month,
        unit_id

),

final as (

    select * from overall
    union all
    select * from by_event_month

)

select * from final
{% endmacro %}
