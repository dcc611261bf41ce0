-- The effect by month relative to go-live (event_month 0 = the go-live month), pooled over
-- cohorts: pre-periods (before go-live: should be zero if treated and control units moved in
-- parallel) and post months (after the ramp-up). Each row is the treated-observation weighted
-- mean of the identified cohort cells of that event month, with a unit-clustered interval.
with

cells as (

    select * from {{ ref('int_cells_estimated') }}
    where event_month <= {{ var('event_months_after') }}

),

variance as (

    select * from {{ ref('int_event_month_variances_summed') }}

),

initiative_kpis as (

    select * from {{ ref('dim_initiative_kpis') }}

),

cell_summary as (

    select
        initiative_id,
        kpi_id,
        event_month,
        sum(case when is_identified then 1 else 0 end) as n_cells_used,
        sum(case when is_identified then 0 else 1 end) as n_cells_dropped,
        sum(case when is_identified then treated_observations else 0 end) as treated_observations,
        sum(case when is_identified then treated_observations * cell_effect end)
        / nullif(sum(case when is_identified then treated_observations end), 0) as effect_value

    from cells
    group by
        initiative_id,
        kpi_id,
        event_month

),

estimates as (

    select
        cell_summary.initiative_id,
        cell_summary.kpi_id,
        cell_summary.event_month,
        cell_summary.n_cells_used,
        cell_summary.n_cells_dropped,
        cell_summary.treated_observations,
        cell_summary.effect_value,
        variance.n_treated_units,
        variance.n_control_units,
        sqrt(variance.effect_variance) as standard_error,
        {{ welch_degrees_of_freedom(
            'variance.treated_design_variance', 'variance.n_treated_units',
            'variance.control_design_variance', 'variance.n_control_only_units'
        ) }} as degrees_of_freedom,
        case when initiative_kpis.direction = 'increase' then 1 else -1 end as favourable_sign

    from cell_summary
    inner join initiative_kpis
        on
            cell_summary.initiative_id = initiative_kpis.initiative_id
            and cell_summary.kpi_id = initiative_kpis.kpi_id
    left join variance
        on
            cell_summary.initiative_id = variance.initiative_id
            and cell_summary.kpi_id = variance.kpi_id
            and cell_summary.event_month = variance.event_month

),

intervals as (

    select
        *,
        effect_value * favourable_sign as favourable_effect,
        {{ t_critical('degrees_of_freedom', 1.959963984540054, 0.025) }} * standard_error
            as margin

    from estimates

),

final as (

    select
        initiative_id,
        kpi_id,
        cast(event_month as integer) as event_month,
        event_month < 0 as is_pre_period,
        cast(n_cells_used as integer) as n_cells_used,
        cast(n_cells_dropped as integer) as n_cells_dropped,
        cast(coalesce(n_treated_units, 0) as integer) as n_treated_units,
        cast(coalesce(n_control_units, 0) as integer) as n_control_units,
        cast(treated_observations as bigint) as treated_observations,
        cast(effect_value as {{ type_double() }}) as effect_value,
        cast(favourable_effect as {{ type_double() }}) as favourable_effect,
        cast(standard_error as {{ type_double() }}) as standard_error,
        cast(degrees_of_freedom as {{ type_double() }}) as degrees_of_freedom,
        cast(favourable_effect - margin as {{ type_double() }}) as ci_low,
        cast(favourable_effect + margin as {{ type_double() }}) as ci_high

    from intervals

)

select * from final
