{#
    A subquery-ready select of n = 0 .. 10^digits - 1 built from cross-joined digits: portable
    (no generate_series, no recursive CTE, no VALUES lists), and small enough to stay fast.
    Used for month spines: 3 digits cover 83 years of months.
#}
{% macro integer_series(digits=3) -%}
    {%- set digit_select -%}
        select 0 as digit
        {%- for d in range(1, 10) %} union all select {{ d }}{% endfor -%}
    {%- endset -%}
    select
        {% for i in range(digits) -%}
            d{{ i }}.digit * {{ 10 ** i }}{{ ' + ' if not loop.last }}
        {%- endfor %} as n
    from ({{ digit_select }}) as d0
    {%- for i in range(1, digits) %}
    cross join ({{ digit_select }}) as d{{ i }}
    {%- endfor %}
{%- endmacro %}
