{#
    An 8-byte float on every target. dbt.type_float() renders a 4-byte float on DuckDB and
    Spark, which loses money and rates.
#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'valueledger')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
