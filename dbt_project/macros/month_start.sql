{#
    First day of the month of a date, as a date. date_trunc returns a timestamp on DuckDB and
    PostgreSQL (with time zone there), so the cast is not optional.
#}
{% macro month_start(date_expression) -%}
    cast({{ dbt.date_trunc('month', date_expression) }} as date)
{%- endmacro %}
