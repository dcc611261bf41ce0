-- int_unit_months_differenced with a CUPED-adjusted change: change_value becomes
-- D - theta_d x (X - mean X of the cell), X the unit's frozen baseline mean, theta_d from
-- int_cuped_thetas_estimated (pre-period months only, so the treatment cannot leak into it).
-- The same difference-in-differences and clustered standard errors then run on it
-- (int_cells_cuped_estimated, int_unit_influences_cuped_summed). Centring within the cell keeps
-- the adjusted change on the scale of the raw one; it cancels in the treated-minus-control
-- difference. theta_d is treated as known, as in CUPED.
-- A table, not a view: two models read it.
{{ config(materialized='table') }}

with

unit_months as (

    select * from {{ ref('int_unit_months_differenced') }}

),

thetas as (

    select * from {{ ref('int_cuped_thetas_estimated') }}

),

-- The cell means of X by aggregation and join, not a window over the unit-months: a window
-- sorts every cohort x unit x month row (50M observations: 74 s -> 22 s).
cell_means as (

    select
        initiative_id,
        kpi_id,
        go_live_on,
        observed_month,
        avg(baseline_mean) as cell_baseline_mean

    from unit_months
    group by
        initiative_id,
        kpi_id,
        go_live_on,
        observed_month

),

final as (

    select
        unit_months.initiative_id,
        unit_months.kpi_id,
        unit_months.go_live_on,
        unit_months.unit_id,
        unit_months.observed_month,
        unit_months.event_month,
        unit_months.is_treated,
        unit_months.is_post_period,
        unit_months.baseline_mean,
        unit_months.month_mean,
        unit_months.observations,
        unit_months.volume,
        unit_months.change_value as unadjusted_change_value,
        unit_months.change_value
        - coalesce(thetas.theta_difference, 0)
        * (unit_months.baseline_mean - cell_means.cell_baseline_mean) as change_value

    from unit_months
    inner join cell_means
        on
            unit_months.initiative_id = cell_means.initiative_id
            and unit_months.kpi_id = cell_means.kpi_id
            and unit_months.go_live_on = cell_means.go_live_on
            and unit_months.observed_month = cell_means.observed_month
    left join thetas
        on
            unit_months.initiative_id = thetas.initiative_id
            and unit_months.kpi_id = thetas.kpi_id

)

select * from final
