{#
    A number as text with `digits` decimals ("-0.1234"), the same on every engine: PostgreSQL has
    no round(double, n) and engines print doubles differently. Halves round away from zero
    (floor(|x| x 10^d + 0.5)), the fraction is zero-padded. Null gives null.
#}
{% macro decimal_text(value, digits) -%}
    {%- set scale = 10 ** digits -%}
    {%- set scaled = 'floor(abs(' ~ value ~ ') * ' ~ scale ~ ' + 0.5)' -%}
    case
        when ({{ value }}) is null then null
        else
            case when ({{ value }}) < 0 and {{ scaled }} > 0 then '-' else '' end
            || cast(cast(floor({{ scaled }} / {{ scale }}.0) as bigint) as {{ dbt.type_string() }})
            || '.'
            || lpad(
                cast(
                    cast({{ scaled }} - {{ scale }} * floor({{ scaled }} / {{ scale }}.0) as bigint)
                    as {{ dbt.type_string() }}
                ),
                {{ digits }},
                '0'
            )
    end
{%- endmacro %}
