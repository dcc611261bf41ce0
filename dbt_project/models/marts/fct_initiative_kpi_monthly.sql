with

unit_months as (

    select * from {{ ref('int_changes_measured_naive') }}

),

cells as (

    select * from {{ ref('int_cells_estimated') }}
    where is_post_period

),

initiative_kpis as (

    select * from {{ ref('dim_initiative_kpis') }}

),

initiatives as (

    select * from {{ ref('dim_initiatives') }}

),

-- Units whose baseline has fewer than min_observations are not measured: no value is booked
-- on a baseline too thin to trust.
measured_unit_months as (

    select * from unit_months
    where has_min_observations

),

monthly as (

    select
        initiative_id,
        kpi_id,
        observed_month as report_month,
        cast(count(*) as integer) as n_live_units,
        cast(sum(observations) as bigint) as observations,
        avg(baseline_mean) as baseline_value,
        avg(actual_mean) as actual_value,
        sum(volume) as volume,
        sum(favourable_change * volume) as favourable_change_volume

    from measured_unit_months
    group by
        initiative_id,
        kpi_id,
        observed_month

),

-- Difference-in-differences per month: the identified cohort cells of the month (cohorts
-- past their ramp-up with at least 2 treated and 2 control units), weighted by treated
-- observations; cells without enough controls are counted, not used.
attributed_monthly as (

    select
        initiative_id,
        kpi_id,
        observed_month as report_month,
        sum(case when is_identified then n_treated_units else 0 end) as n_attributed_units,
        sum(case when is_identified then 1 else 0 end) as n_cells_used,
        sum(case when is_identified then 0 else 1 end) as n_cells_dropped,
        sum(case when is_identified then treated_volume end) as attributed_volume,
        sum(case when is_identified then treated_observations * cell_effect end)
        / nullif(sum(case when is_identified then treated_observations end), 0)
            as attributed_change_value,
        sum(case when is_identified then cell_effect * treated_volume end)
            as attributed_change_volume

    from cells
    group by
        initiative_id,
        kpi_id,
        observed_month

),

control_units_monthly as (

    select
        initiative_id,
        kpi_id,
        observed_month as report_month,
        n_control_units

    from {{ ref('int_control_units_counted') }}

),

report_months as (

    select
        initiative_id,
        kpi_id,
        report_month
    from monthly

    union

    select
        initiative_id,
        kpi_id,
        report_month
    from attributed_monthly

),

with_targets as (

    select
        report_months.initiative_id,
        report_months.kpi_id,
        report_months.report_month,
        initiative_kpis.direction,
        monthly.n_live_units,
        monthly.observations,
        monthly.baseline_value,
        monthly.actual_value,
        monthly.volume,
        monthly.favourable_change_volume,
        attributed_monthly.attributed_change_value,
        attributed_monthly.attributed_change_volume,
        attributed_monthly.attributed_volume,
        initiative_kpis.value_per_unit,
        initiative_kpis.is_cash,
        initiative_kpis.value_driver,
        initiatives.currency,
        monthly.actual_value - monthly.baseline_value as change_value,
        coalesce(attributed_monthly.n_attributed_units, 0) as n_attributed_units,
        coalesce(control_units_monthly.n_control_units, 0) as n_control_units,
        coalesce(attributed_monthly.n_cells_used, 0) as n_cells_used,
        coalesce(attributed_monthly.n_cells_dropped, 0) as n_cells_dropped,
        case when initiative_kpis.direction = 'increase' then 1 else -1 end as favourable_sign,
        case
            when initiative_kpis.target_type = 'relative'
                then initiative_kpis.target_change * monthly.baseline_value
            else initiative_kpis.target_change
        end as target_change_value

    from report_months
    inner join initiative_kpis
        on
            report_months.initiative_id = initiative_kpis.initiative_id
            and report_months.kpi_id = initiative_kpis.kpi_id
    inner join initiatives
        on report_months.initiative_id = initiatives.initiative_id
    left join monthly
        on
            report_months.initiative_id = monthly.initiative_id
            and report_months.kpi_id = monthly.kpi_id
            and report_months.report_month = monthly.report_month
    left join attributed_monthly
        on
            report_months.initiative_id = attributed_monthly.initiative_id
            and report_months.kpi_id = attributed_monthly.kpi_id
            and report_months.report_month = attributed_monthly.report_month
    left join control_units_monthly
        on
            report_months.initiative_id = control_units_monthly.initiative_id
            and report_months.kpi_id = control_units_monthly.kpi_id
            and report_months.report_month = control_units_monthly.report_month

),

figures as (

    select
        initiative_id,
        kpi_id,
        report_month,
        direction,
        n_live_units,
        observations,
        baseline_value,
        actual_value,
        change_value,
        target_change_value,
        volume,
        value_per_unit,
        is_cash,
        value_driver,
        currency,
        change_value / nullif(baseline_value, 0) as change_relative,
        change_value * favourable_sign as favourable_change,
        change_value * favourable_sign
        / nullif(target_change_value * favourable_sign, 0) as attainment,
        favourable_change_volume * value_per_unit as value_amount,
        cast(n_attributed_units as integer) as n_attributed_units,
        cast(n_control_units as integer) as n_control_units,
        cast(n_cells_used as integer) as n_cells_used,
        cast(n_cells_dropped as integer) as n_cells_dropped,
        cast(attributed_change_value as {{ type_double() }}) as attributed_change_value,
        cast(
            attributed_change_value * favourable_sign as {{ type_double() }}
        ) as attributed_favourable_change,
        cast(
            attributed_change_value / nullif(target_change_value, 0) as {{ type_double() }}
        ) as attributed_attainment,
        cast(attributed_volume as {{ type_double() }}) as attributed_volume,
        cast(
            attributed_change_volume * favourable_sign * value_per_unit as {{ type_double() }}
        ) as attributed_value_amount

    from with_targets

),

-- Every value figure carries the evidence status of its initiative (docs/quality.md):
-- a failing initiative is shown as unverified, never silently reported.
final as (

    {{ with_evidence_status('figures') }}

)

select * from final
