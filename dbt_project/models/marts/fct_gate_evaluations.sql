-- One row per initiative x check at its next phase gate: the registry's gate criteria, the
-- standing stop tests and the stage time limit, each with observed value, threshold, status
-- and a plain sentence; the initiative's evidence status and recommendation repeat on every
-- row. marts.fct_initiative_recommendations has one row per initiative.
with

checks as (

    select * from {{ ref('int_gate_checks_evaluated') }}

),

recommendations as (

    select * from {{ ref('fct_initiative_recommendations') }}

),

final as (

    select
        checks.initiative_id,
        checks.check_name,
        checks.check_kind,
        recommendations.as_of_date,
        recommendations.current_stage,
        checks.from_stage,
        checks.to_stage,
        checks.check_label,
        checks.observed_value,
        checks.threshold,
        checks.check_status,
        checks.is_passed,
        checks.check_note,
        recommendations.evidence_status,
        recommendations.recommendation,
        recommendations.decision_rule,
        recommendations.recommendation_reason

    from checks
    inner join recommendations
        on checks.initiative_id = recommendations.initiative_id

)

select * from final
