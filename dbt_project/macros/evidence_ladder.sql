{#
    The evidence ladder of a value figure (docs/method.md, "Evidence ladder, sign-off and
    learning library"). Ranks, each presuming the ones below it:

        1 target only                      no measured change yet
        2 measured (naive)                 a naive before/after change, no attributed verdict
        3 attributed                       a difference-in-differences estimate with a verdict
        4 attributed with passing evidence ... and the evidence gates pass (pass or warn) and
                                           the event study shows no pre-trend
        5 finance-validated                ... and a current finance sign-off of this figure
        6 realised as cash                 ... validated, and all of the value is cash
#}

{% macro evidence_rank_measured(naive_change, evidence_verdict, is_evidence_verified, has_pre_trend) -%}
    case
        when {{ naive_change }} is null then 1
        when coalesce({{ evidence_verdict }}, 'insufficient evidence') = 'insufficient evidence'
            then 2
        when {{ is_evidence_verified }} and not coalesce({{ has_pre_trend }}, false) then 4
        else 3
    end
{%- endmacro %}

{# current: the figure is within the signed tolerance of the signed amount; stale: it moved. #}
{% macro signoff_status(figure_amount, signoff) -%}
    case
        when {{ signoff }}.signoff_line is null then 'none'
        when
            abs(coalesce({{ figure_amount }}, 0) - {{ signoff }}.figure_amount)
            <= {{ signoff }}.tolerance_relative * abs({{ signoff }}.figure_amount)
            then 'current'
        else 'stale'
    end
{%- endmacro %}

{% macro evidence_rank(measured_rank, figure_amount, is_cash, signoff) -%}
    case
        when
            {{ measured_rank }} = 4
            and {{ signoff_status(figure_amount, signoff) }} = 'current'
            then case when {{ is_cash }} then 6 else 5 end
        else {{ measured_rank }}
    end
{%- endmacro %}

{% macro evidence_level(rank) -%}
    case {{ rank }}
        when 1 then 'target only'
        when 2 then 'measured (naive)'
        when 3 then 'attributed'
        when 4 then 'attributed with passing evidence'
        when 5 then 'finance-validated'
        when 6 then 'realised as cash'
    end
{%- endmacro %}

{#
    The ladder columns of one figure, for the select list of a mart's final CTE. `signoff` is
    the alias of the joined int_signoffs_latest row (null when nobody signed the figure).
#}
{% macro evidence_ladder_columns(measured_rank, figure_amount, is_cash, signoff) -%}
    cast(
        {{ evidence_rank(measured_rank, figure_amount, is_cash, signoff) }} as integer
    ) as evidence_rank,
    {{ evidence_level(evidence_rank(measured_rank, figure_amount, is_cash, signoff)) }}
    as evidence_level,
    {{ signoff_status(figure_amount, signoff) }} as signoff_status,
    {{ signoff }}.signed_by as signed_off_by,
    {{ signoff }}.signed_at as signed_off_at,
    {{ signoff }}.figure_amount as signed_off_amount
{%- endmacro %}

{#
    Rung of an initiative-level figure (a sum over its KPIs): the weakest rung, below
    sign-off, among the KPIs with a measured change; target only when none is measured.
    Cash only when every measured KPI's value is cash.
#}
{% macro initiative_evidence_rungs() -%}
    select
        effects.initiative_id,
        coalesce(
            min(case when effects.evidence_rank > 1 then least(effects.evidence_rank, 4) end), 1
        ) as measured_rank,
        coalesce(
            min(
                case
                    when effects.evidence_rank > 1
                        then case when initiative_kpis.is_cash then 1 else 0 end
                end
            ),
            0
        ) = 1 as is_all_cash
    from {{ ref('fct_initiative_kpi_effects') }} as effects
    inner join {{ ref('dim_initiative_kpis') }} as initiative_kpis
        on
            effects.initiative_id = initiative_kpis.initiative_id
            and effects.kpi_id = initiative_kpis.kpi_id
    group by effects.initiative_id
{%- endmacro %}

{#
    The select attaching the ladder to an initiative-level figure (fct_initiative_value_monthly,
    fct_initiative_returns): its rung from its KPIs and its sign-off of all KPIs together.
    period: 'month' (matched on report_month) or 'to_date'.
#}
{% macro with_initiative_evidence_ladder(figures, figure_amount, period) -%}
    select
        {{ figures }}.*,
        {{ evidence_ladder_columns(
            'coalesce(rungs.measured_rank, 1)',
            figures ~ '.' ~ figure_amount,
            'coalesce(rungs.is_all_cash, false)',
            'signoffs',
        ) }}

    from {{ figures }}
    left join ({{ initiative_evidence_rungs() }}) as rungs
        on {{ figures }}.initiative_id = rungs.initiative_id
    left join {{ ref('int_signoffs_latest') }} as signoffs
        on
            {{ figures }}.initiative_id = signoffs.initiative_id
            and signoffs.kpi_id is null
            and signoffs.period = '{{ period }}'
            {%- if period == 'month' %}
            and {{ figures }}.report_month = signoffs.report_month
            {%- endif %}
{%- endmacro %}
