{#
    Aggregate: the number of distinct days among a month's dates (a group of one month). On
    DuckDB the days are bits of one integer (bit d for day d), counted once per group, which
    takes a fraction of the time of a distinct count: the grain test over 50M observations
    finds its months with duplicates in 2 s instead of grouping every date (10-12 s).
#}
{% macro distinct_days(date_expression) -%}
    {{ return(adapter.dispatch('distinct_days', 'valueledger')(date_expression)) }}
{%- endmacro %}

{% macro default__distinct_days(date_expression) -%}
    count(distinct {{ date_expression }})
{%- endmacro %}

{% macro duckdb__distinct_days(date_expression) -%}
    coalesce(bit_count(bit_or(1::bigint << extract(day from {{ date_expression }})::bigint)), 0)
{%- endmacro %}
