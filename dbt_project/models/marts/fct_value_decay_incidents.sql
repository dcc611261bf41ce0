-- One row per value decay incident: a run of consecutive evaluation months in which the
-- recent attributed effect (trailing 3 months) is significantly below its earlier post-period
-- level (int_decay_windows_tested). The incident is dated by the first month of the run, so
-- it keeps its id while the decline persists and new months arrive: the decay watch
-- (assets/watch/decay_alerts.py) alerts once per incident_id. It is open until a later month's
-- recent effect is no longer significantly below the earlier level (cleared_month).
with

tests as (

    select * from {{ ref('int_decay_windows_tested') }}

),

with_previous as (

    select
        *,
        lag(is_decline) over (
            partition by initiative_id, kpi_id order by evaluated_month
        ) as was_decline,
        -- The first later month whose recent effect is no longer significantly below: the end
        -- of the run of declines; none yet = the incident is open.
        min(case when not is_decline then evaluated_month end) over (
            partition by initiative_id, kpi_id
            order by evaluated_month
            rows between 1 following and unbounded following
        ) as next_clear_month

    from tests

),

final as (

    select
        initiative_id || '|' || kpi_id || '|' || cast(evaluated_month as {{ dbt.type_string() }})
            as incident_id,
        initiative_id,
        kpi_id,
        evaluated_month as detected_month,
        next_clear_month as cleared_month,
        next_clear_month is null as is_open,
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
        'recent 3-month favourable effect ' || {{ decimal_text('recent_favourable_change', 6) }}
        || ' against ' || {{ decimal_text('earlier_favourable_change', 6) }}
        || ' over the ' || cast(n_earlier_months as {{ dbt.type_string() }})
        || ' earlier post months: t = ' || {{ decimal_text('t_statistic', 2) }}
        || ' below -' || {{ decimal_text('critical_value', 2) }}
        || ' (one-sided, alpha 0.01)' as evidence

    from with_previous
    where is_decline and not coalesce(was_decline, false)

)

select * from final
