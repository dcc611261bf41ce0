{#
    The standard normal quantile at 1 - 0.025 / k: the two-sided 5% critical value after a
    Bonferroni correction for k tests (k = 1 gives 1.96). Tabulated for k = 1 .. 12 (no engine
    has a normal quantile function); k above 12 uses 12, which is slightly too lenient.
#}
{% macro normal_quantile_bonferroni(k) -%}
    {%- set quantiles = [
        1.959963984540054, 2.241402727604947, 2.3939797998185104, 2.497705474412374,
        2.5758293035489004, 2.638257273476751, 2.690109527158867, 2.7343687865331767,
        2.7729212946086634, 2.807033768343811, 2.8375969129437872, 2.8652602385321346,
    ] -%}
    case
        {%- for q in quantiles %}
        when {{ k }} {{ '<=' if loop.first else '=' }} {{ loop.index }} then {{ q }}
        {%- endfor %}
        else {{ quantiles[-1] }}
    end
{%- endmacro %}
