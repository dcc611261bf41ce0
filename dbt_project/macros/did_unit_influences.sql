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
    to date, weighted by treated volume x value per unit): one row per unit with its
    influences (int_unit_influences_summed); 'event_month' (one per month relative to go-live,
    cells of that event month weighted by treated observations): the units' influences summed
    into the clustered variance of each event month (clustered_variance), one row per
    initiative x KPI x event month (int_event_month_variances_summed). Its 22M unit rows at 50M
    observations were never read but to be squared and summed: written, they cost 6 s more.

    The CUPED-adjusted twin of the overall effect comes from the same pass. Its outcome is
    D - theta x (X - mean X of the cell), X the frozen baseline, so a unit's residual is its
    change residual minus theta x its baseline residual within its group (the cell mean
    cancels), with the same cells and weights: its influence is effect_influence - theta x
    baseline_influence, theta per estimate (fct_initiative_kpi_adjusted_effects). A second copy
    of the cohort x unit x month rows for the adjusted outcome cost more than the estimate.

    unit_months: shaped like int_unit_months_differenced; cells: shaped like
    int_cells_estimated, built from the same unit_months. The unit rows meet their cells on
    the integer cohort_key and are summed by estimate_key x unit_key (macros/integer_key.sql);
    the text ids join back to the summed rows. estimand: 'overall' or 'event_month'.
    moved: on a partition run, the moved baselines; then only the event months it rebuilds
    (rebuilt_event_month) are computed.
#}
{% macro did_unit_influences(unit_months, cells, estimand, moved=none) %}
{%- if estimand not in ('overall', 'event_month') -%}
    {{ exceptions.raise_compiler_error("did_unit_influences: estimand is 'overall' or 'event_month', not '" ~ estimand ~ "'") }}
{%- endif %}
{%- set weights = ['effect_weight', 'value_weight'] if estimand == 'overall' else ['event_weight'] %}
with

unit_months as (

    select * from {{ unit_months }}

),

cells as (

    select * from {{ cells }}
    where
        is_identified
        {%- if estimand == 'overall' %}
        and is_post_period
        {%- else %}
        and event_month <= {{ var('event_months_after') }}
        {#- Whole event months (or initiative x KPIs) are kept or left: the weights below are
            normalised within an event month, so a rebuilt one gets the same figures. #}
        {%- if moved is not none %}
        and {{ rebuilt_event_month(moved) }}
        {%- endif %}
        {%- endif %}

),

initiative_kpis as (

    select * from {{ ref('stg_portfolio__initiative_kpis') }}

),

{%- if estimand == 'overall' %}

units as (

    select * from {{ unit_ids() }} as unit_ids

),
{%- endif %}

cell_weights as (

    select
        cells.estimate_key,
        cells.cohort_key,
        cells.observed_month,
        cells.event_month,
        cells.is_post_period,
        cells.n_treated_units,
        cells.n_control_units,
        cells.treated_mean_change,
        cells.control_mean_change,
        cells.treated_mean_baseline,
        cells.control_mean_baseline,
        {%- if estimand == 'overall' %}
        cast(cells.treated_observations as {{ type_double() }})
        / sum(cells.treated_observations) over (
            partition by cells.estimate_key
        ) as effect_weight,
        cells.treated_volume
        * initiative_kpis.value_per_unit
        * case when initiative_kpis.direction = 'increase' then 1 else -1 end as value_weight
        {%- else %}
        cast(cells.treated_observations as {{ type_double() }})
        / sum(cells.treated_observations) over (
            partition by cells.estimate_key, cells.event_month
        ) as event_weight
        {%- endif %}

    from cells
    inner join initiative_kpis
        on
            cells.initiative_id = initiative_kpis.initiative_id
            and cells.kpi_id = initiative_kpis.kpi_id

),

unit_cells as (

    select
        cell_weights.estimate_key,
        unit_months.unit_key,
        unit_months.is_treated,
        unit_months.change_value,
        unit_months.baseline_mean,
        cell_weights.event_month,
        {%- for weight in weights %}
        cell_weights.{{ weight }},
        {%- endfor %}
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
            unit_months.cohort_key = cell_weights.cohort_key
            and unit_months.observed_month = cell_weights.observed_month

),

residuals as (

    select
        estimate_key,
        unit_key,
        is_treated,
        event_month,
        {%- for weight in weights %}
        {{ weight }},
        {%- endfor %}
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

{%- if estimand == 'overall' %}

unit_influences as (

    select
        estimate_key,
        unit_key,
        sum(effect_weight * scaled_residual) as effect_influence,
        sum(value_weight * scaled_residual) as value_influence,
        sum(effect_weight * design_residual) as effect_design_influence,
        sum(value_weight * design_residual) as value_design_influence,
        sum(effect_weight * scaled_baseline_residual) as baseline_influence,
        max(case when is_treated then 1 else 0 end) = 1 as is_treated_unit,
        max(case when is_treated then 0 else 1 end) = 1 as is_control_unit

    from residuals
    group by
        estimate_key,
        unit_key

),

final as (

    select
        initiative_kpis.initiative_id,
        initiative_kpis.kpi_id,
        units.unit_id,
        unit_influences.effect_influence,
        unit_influences.value_influence,
        unit_influences.effect_design_influence,
        unit_influences.value_design_influence,
        unit_influences.baseline_influence,
        unit_influences.is_treated_unit,
        unit_influences.is_control_unit

    from unit_influences
    inner join initiative_kpis
        on unit_influences.estimate_key = initiative_kpis.estimate_key
    inner join units
        on unit_influences.unit_key = units.unit_key

)

{%- else %}

unit_influences as (

    select
        estimate_key,
        event_month,
        unit_key,
        sum(event_weight * scaled_residual) as effect_influence,
        sum(event_weight * design_residual) as effect_design_influence,
        max(case when is_treated then 1 else 0 end) = 1 as is_treated_unit,
        max(case when is_treated then 0 else 1 end) = 1 as is_control_unit

    from residuals
    group by
        estimate_key,
        event_month,
        unit_key

),

variances as (

    select
        estimate_key,
        event_month,
        {{ clustered_variance('effect_influence', 'effect_design_influence', 'is_treated_unit') }},
        sum(case when is_control_unit then 1 else 0 end) as n_control_units

    from unit_influences
    group by
        estimate_key,
        event_month

),

final as (

    select
        initiative_kpis.initiative_id,
        initiative_kpis.kpi_id,
        variances.event_month,
        variances.effect_variance,
        variances.treated_design_variance,
        variances.control_design_variance,
        variances.n_treated_units,
        variances.n_control_only_units,
        variances.n_control_units

    from variances
    inner join initiative_kpis
        on variances.estimate_key = initiative_kpis.estimate_key

)

{%- endif %}

select * from final
{% endmacro %}
