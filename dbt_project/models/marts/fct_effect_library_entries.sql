-- The learning library's evidence: one row per initiative x KPI with an attributed estimate
-- (a verdict), its effect relative to the baseline and normalised so that positive is the
-- favourable direction, comparable across KPIs and with relative targets.

with

effects as (

    select * from {{ ref('fct_initiative_kpi_effects') }}

),

initiative_kpis as (

    select * from {{ ref('dim_initiative_kpis') }}

),

final as (

    select
        effects.initiative_id,
        effects.kpi_id,
        initiative_kpis.value_driver,
        effects.evidence_verdict,
        effects.evidence_rank,
        effects.is_evidence_verified,
        cast(
            effects.attributed_favourable_change / abs(effects.baseline_value)
            as {{ type_double() }}
        ) as favourable_change_relative,
        cast(
            effects.ci_low / abs(effects.baseline_value) as {{ type_double() }}
        ) as favourable_ci_low_relative,
        cast(
            effects.ci_high / abs(effects.baseline_value) as {{ type_double() }}
        ) as favourable_ci_high_relative,
        effects.evidence_verdict in ('measurable value', 'harmful') as is_significant

    from effects
    inner join initiative_kpis
        on
            effects.initiative_id = initiative_kpis.initiative_id
            and effects.kpi_id = initiative_kpis.kpi_id
    where
        effects.evidence_rank >= 3
        and effects.baseline_value != 0

)

select * from final
