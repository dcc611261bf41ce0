-- One row per initiative x KPI: how large a violation of parallel trends the attributed
-- estimate survives (Rambachan and Roth 2023, relative magnitudes). The post-period bias may be
-- up to M times the largest pre-period deviation seen in the event study (max |pre-period
-- effect|, each measured against the baseline window); the interval widened by that bias on
-- each side, [ci_low - M x dev, ci_high + M x dev], excludes zero up to the breakdown
--     breakdown_m = (|favourable change| - t x SE) / max_pre_period_deviation.
-- breakdown_m < 1: a violation no larger than one already seen before go-live erases the
-- finding, so the estimate is fragile. Only estimates whose interval excludes zero have a
-- finding to lose; the others get breakdown 0 and no fragility flag.
with

effects as (

    select * from {{ ref('fct_initiative_kpi_effects') }}

),

event_study as (

    select * from {{ ref('fct_initiative_kpi_event_study') }}
    where is_pre_period and effect_value is not null

),

pre_periods as (

    select
        initiative_id,
        kpi_id,
        count(*) as n_pre_periods,
        max(abs(effect_value)) as max_pre_period_deviation

    from event_study
    group by
        initiative_id,
        kpi_id

),

joined as (

    select
        effects.initiative_id,
        effects.kpi_id,
        effects.evidence_verdict,
        effects.has_pre_trend,
        effects.attributed_favourable_change,
        effects.ci_low,
        effects.ci_high,
        pre_periods.max_pre_period_deviation,
        coalesce(pre_periods.n_pre_periods, 0) as n_pre_periods,
        effects.evidence_verdict in ('measurable value', 'harmful') as excludes_zero,
        -- |estimate| - margin: how far the nearer bound lies from zero.
        case
            when effects.ci_low > 0 then effects.ci_low
            when effects.ci_high < 0 then -effects.ci_high
            else 0
        end as clearance

    from effects
    left join pre_periods
        on
            effects.initiative_id = pre_periods.initiative_id
            and effects.kpi_id = pre_periods.kpi_id

),

final as (

    select
        initiative_id,
        kpi_id,
        evidence_verdict,
        has_pre_trend,
        attributed_favourable_change,
        ci_low,
        ci_high,
        cast(n_pre_periods as integer) as n_pre_periods,
        cast(max_pre_period_deviation as {{ type_double() }}) as max_pre_period_deviation,
        cast(
            case
                when evidence_verdict = 'insufficient evidence' then null
                when not excludes_zero then 0
                else clearance / nullif(max_pre_period_deviation, 0)
            end as {{ type_double() }}
        ) as breakdown_m,
        cast(ci_low - max_pre_period_deviation as {{ type_double() }}) as robust_ci_low_m1,
        cast(ci_high + max_pre_period_deviation as {{ type_double() }}) as robust_ci_high_m1,
        case
            when excludes_zero and max_pre_period_deviation > 0
                then clearance / max_pre_period_deviation < 1
        end as is_fragile,
        case
            when evidence_verdict = 'insufficient evidence' then 'insufficient evidence'
            when not excludes_zero then 'interval includes zero: no finding to lose'
            when max_pre_period_deviation is null then 'no pre-period estimated: not assessable'
            when clearance / nullif(max_pre_period_deviation, 0) < 1
                then 'fragile: a violation smaller than the largest pre-period deviation erases it'
            else 'robust to violations up to the largest pre-period deviation'
        end as sensitivity_note

    from joined

)

select * from final
