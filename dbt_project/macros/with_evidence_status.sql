{#
    The select that attaches its initiative's evidence status to every row of a value figure
    (docs/quality.md): a failing or never-checked initiative is shown as unverified, never
    silently reported. One place for the join every mart carrying a value figure needs.

    figures:   the CTE holding the figures (one column initiative_id)
    with_note: also attach the sentence explaining the status (dimension and report rows)
#}
{% macro with_evidence_status(figures, with_note=false) -%}
    select
        {{ figures }}.*,
        coalesce(initiative_evidence.evidence_status, 'fail') as evidence_status,
        coalesce(initiative_evidence.is_evidence_verified, false) as is_evidence_verified
        {%- if with_note %},
        coalesce(
            initiative_evidence.evidence_note, 'unverified: no evidence status'
        ) as evidence_note
        {%- endif %}

    from {{ figures }}
    left join {{ ref('int_evidence_status_by_initiative') }} as initiative_evidence
        on {{ figures }}.initiative_id = initiative_evidence.initiative_id
{%- endmacro %}
