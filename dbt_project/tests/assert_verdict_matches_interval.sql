-- A failure means an evidence verdict contradicts its own numbers: measurable value without an
-- interval above zero, harmful without one below zero, a verdict on fewer than 2 treated or 2
-- control units, or a number given where the evidence is insufficient.
with

effects as (

    select * from {{ ref('fct_initiative_kpi_effects') }}

),

final as (

    select
        initiative_id,
        kpi_id,
        evidence_verdict,
        ci_low,
        ci_high,
        n_treated_units,
        n_control_units

    from effects
    where
        (evidence_verdict = 'measurable value' and not ci_low > 0)
        or (evidence_verdict = 'harmful' and not ci_high < 0)
        or (evidence_verdict = 'no measurable value' and (ci_low > 0 or ci_high < 0))
        or (
            evidence_verdict != 'insufficient evidence'
            and (n_treated_units < 2 or n_control_units < 2 or n_cells_used = 0)
        )
        or (ci_low > attributed_favourable_change or ci_high < attributed_favourable_change)
        or (n_cells_used = 0 and attributed_change is not null)

)

select * from final
