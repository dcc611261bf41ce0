with

unit_months as (

    select * from {{ ref('int_changes_measured_naive') }}

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

with_targets as (

    select
        monthly.initiative_id,
        monthly.kpi_id,
        monthly.report_month,
        initiative_kpis.direction,
        monthly.n_live_units,
        monthly.observations,
        monthly.baseline_value,
        monthly.actual_value,
        monthly.volume,
        monthly.favourable_change_volume,
        initiative_kpis.value_per_unit,
        initiative_kpis.is_cash,
        initiative_kpis.value_driver,
        initiatives.currency,
        monthly.actual_value - monthly.baseline_value as change_value,
        case when initiative_kpis.direction = 'increase' then 1 else -1 end as favourable_sign,
        case
            when initiative_kpis.target_type = 'relative'
                then initiative_kpis.target_change * monthly.baseline_value
            else initiative_kpis.target_change
        end as target_change_value

    from monthly
    inner join initiative_kpis
        on
            monthly.initiative_id = initiative_kpis.initiative_id
            and monthly.kpi_id = initiative_kpis.kpi_id
    inner join initiatives
        on monthly.initiative_id = initiatives.initiative_id

),

final as (

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
        favourable_change_volume * value_per_unit as value_amount

    from with_targets

)

select * from final
