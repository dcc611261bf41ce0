{#-
    Every build appends its gate evaluations: one row per dbt invocation x initiative x check,
    so a decision can be audited later (what did the gate say, on which evidence, when). In the
    `audit` schema: a log of runs, not a function of today's evidence (exports and engine
    comparisons read `marts`). Never rebuilt: --full-refresh does not erase the history.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    full_refresh=false,
    schema='audit',
) }}

with

evaluations as (

    select * from {{ ref('fct_gate_evaluations') }}

),

final as (

    select
        cast('{{ invocation_id }}' as {{ dbt.type_string() }}) as invocation_id,
        cast(
            '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }}
        ) as evaluated_at,
        initiative_id,
        check_name,
        check_kind,
        as_of_date,
        current_stage,
        from_stage,
        to_stage,
        observed_value,
        threshold,
        check_status,
        is_passed,
        evidence_status,
        recommendation,
        decision_rule,
        recommendation_reason,
        check_note

    from evaluations

)

select * from final
