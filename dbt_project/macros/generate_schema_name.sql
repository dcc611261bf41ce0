{#
    Use a model's custom schema name as-is (staging, intermediate, marts, reports) instead of
    dbt's default <target_schema>_<custom>, so BI reads marts.fct_... on every target.
    Models without a custom schema land in the target's schema.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
