-- One row per value decay incident: a run of consecutive evaluation months in which the
-- recent attributed effect (trailing 3 months) is significantly below its earlier post-period
-- level (int_decay_windows_tested). The incident is dated by the first month of the run, so
-- it keeps its id while the decline persists and new months arrive: the decay watch
-- (assets/watch/decay_alerts.py) alerts once per incident_id.
with

tests as (

    select * from {{ ref('int_decay_windows_tested') }}

),

with_previous as (

    select
        *,
        lag(is_decline) over (
            partition by initiative_id, kpi_id order by evaluated_month
        ) as was_decline

    from tests

),

final as (

    select
        initiative_id || '|' || kpi_id || '|' || cast(evaluated_month as varchar) as incident_id,
        initiative_id,
        kpi_id,
        evaluated_month as detected_month,
        n_earlier_months,
        n_recent_months,
        earlier_favourable_change,
        recent_favourable_change,
        difference,
        standard_error,
        degrees_of_freedom,
        t_statistic,
        critical_value,
        cast(0.01 as {{ type_double() }}) as alpha,
        'recent 3-month favourable effect ' || cast(round(recent_favourable_change, 6) as varchar)
        || ' against ' || cast(round(earlier_favourable_change, 6) as varchar)
        || ' over the ' || cast(n_earlier_months as varchar)
        || ' earlier post months: t = ' || cast(round(t_statistic, 2) as varchar)
        || ' below -' || cast(round(critical_value, 2) as varchar)
        || ' (one-sided, alpha 0.01)' as evidence

    from with_previous
    where is_decline and not coalesce(was_decline, false)

)

select * from final
