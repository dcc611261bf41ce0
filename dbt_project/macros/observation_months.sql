{#
    Incremental processing by observation month (docs/operations.md). A partition run passes
    the months it re-processed in VALUELEDGER_OBSERVATION_MONTHS ('2025-06-01,2025-07-01'; the
    var `observation_months`, a list, does the same by hand); the per-observation models then
    replace only those months (delete+insert). Without them they build in full as tables,
    exactly as before, so a full run and a partition run share one model. The environment
    variable, not a var, is what Dagster sets: a changed var makes dbt re-parse the whole
    project (tens of seconds here), a changed env_var only the files that read it.
#}

{# The months to rebuild (a list of 'YYYY-MM-01'), or none for a full build. #}
{% macro observation_months() -%}
    {%- set months = var('observation_months', none) -%}
    {%- if months is none -%}
        {%- set text = env_var('VALUELEDGER_OBSERVATION_MONTHS', '') | trim -%}
        {%- if text -%}
            {%- set months = text.split(',') | map('trim') | list -%}
        {%- endif -%}
    {%- endif -%}
    {%- if months is string -%}
        {%- set months = [months] -%}
    {%- endif -%}
    {{ return(months) }}
{%- endmacro %}

{# The config of a per-observation model: a table, or given months, just their slice. #}
{% macro incremental_by_observation_month() -%}
    {{ config(
        materialized='incremental' if observation_months() is not none else 'table',
        incremental_strategy='delete+insert',
        unique_key='observed_month',
        on_schema_change='fail',
        pre_hook="{{ delete_observation_months('observed_month') }}",
    ) }}
{%- endmacro %}

{# SQL list of the months as dates; each must be a month's first day. #}
{% macro observation_months_list() -%}
    {%- set dates = [] -%}
    {%- for month in observation_months() -%}
        {%- if not modules.re.match('^[0-9]{4}-(0[1-9]|1[0-2])-01$', month | string) -%}
            {{ exceptions.raise_compiler_error(
                "observation months: '" ~ month ~ "' is not the first day of a month "
                ~ "(YYYY-MM-01), e.g. VALUELEDGER_OBSERVATION_MONTHS=2025-03-01,2025-04-01"
            ) }}
        {%- endif -%}
        {%- do dates.append("cast('" ~ month ~ "' as date)") -%}
    {%- endfor -%}
    ({{ dates | join(', ') if dates else 'cast(null as date)' }})
{%- endmacro %}

{# Only the re-processed months of the observations, on an incremental build. #}
{% macro where_observation_months(date_expression) -%}
    {#- Without months nothing is incremental (and unit tests have no `this` to ask). #}
    {%- if observation_months() is not none and is_incremental() %}
    where {{ month_start(date_expression) }} in {{ observation_months_list() }}
    {%- endif %}
{%- endmacro %}

{#
    Pre-hook: empty the re-processed months first. delete+insert only deletes the months it
    inserts again; a month whose rows all went (file emptied, rows quarantined) must go too.
#}
{% macro delete_observation_months(month_column) -%}
    {%- if observation_months() is not none and is_incremental() -%}
        delete from {{ this }} where {{ month_column }} in {{ observation_months_list() }}
    {%- endif -%}
{%- endmacro %}
