{#
    Critical value of Student's t for a two-sided interval: the quantile at 1 - tail with df
    degrees of freedom (tail = 0.025 for a 95% interval, 0.025 / k for a Bonferroni test over
    k estimates). `z` is the standard normal quantile at 1 - tail (normal_quantile_bonferroni).

    No engine has a t quantile function, so: exact closed forms at df = 1 (cot(pi tail)) and
    df = 2, the four-term Cornish-Fisher expansion around z from df = 3 (relative error below
    0.2% at df 3 for a 95% interval, below 1e-4 from df 5), and log-linear interpolation in
    1 / df between 1, 2 and 3 for fractional Welch-Satterthwaite degrees of freedom (at most a
    few percent too wide, never too narrow). df below 1 is treated as 1.
#}
{% macro t_critical(df, z, tail) -%}
    {#- Literals would be exact decimals on DuckDB: the powers below overflow them. -#}
    {%- set z = 'cast((' ~ z ~ ') as ' ~ type_double() ~ ')' -%}
    {%- set tail = 'cast((' ~ tail ~ ') as ' ~ type_double() ~ ')' -%}
    {%- set t1 -%} (1.0 / tan(pi() * ({{ tail }}))) {%- endset -%}
    {%- set t2 -%}
        ((1.0 - 2.0 * ({{ tail }})) / sqrt(2.0 * ({{ tail }}) * (1.0 - ({{ tail }}))))
    {%- endset -%}
    {%- set g1 -%} ((power({{ z }}, 3) + {{ z }}) / 4.0) {%- endset -%}
    {%- set g2 -%}
        ((5.0 * power({{ z }}, 5) + 16.0 * power({{ z }}, 3) + 3.0 * {{ z }}) / 96.0)
    {%- endset -%}
    {%- set g3 -%}
        ((3.0 * power({{ z }}, 7) + 19.0 * power({{ z }}, 5) + 17.0 * power({{ z }}, 3)
        - 15.0 * {{ z }}) / 384.0)
    {%- endset -%}
    {%- set g4 -%}
        ((79.0 * power({{ z }}, 9) + 776.0 * power({{ z }}, 7) + 1482.0 * power({{ z }}, 5)
        - 1920.0 * power({{ z }}, 3) - 945.0 * {{ z }}) / 92160.0)
    {%- endset -%}
    {%- set t3 -%}
        ({{ z }} + {{ g1 }} / 3.0 + {{ g2 }} / 9.0 + {{ g3 }} / 27.0 + {{ g4 }} / 81.0)
    {%- endset -%}
    case
        when {{ df }} is null then null
        when {{ df }} < 1 then {{ t1 }}
        when {{ df }} < 2 then {{ t1 }} * power({{ t2 }} / {{ t1 }}, 2.0 - 2.0 / ({{ df }}))
        when {{ df }} < 3 then {{ t2 }} * power({{ t3 }} / {{ t2 }}, 3.0 - 6.0 / ({{ df }}))
        else
            {{ z }}
            + {{ g1 }} / ({{ df }})
            + {{ g2 }} / power({{ df }}, 2)
            + {{ g3 }} / power({{ df }}, 3)
            + {{ g4 }} / power({{ df }}, 4)
    end
{%- endmacro %}
