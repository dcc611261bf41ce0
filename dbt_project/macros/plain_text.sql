{#
    Numbers as words for sentences a non-analyst reads ("EUR 2.8 million", "26%", "14"), the
    same text on every engine: no to_char (DuckDB has none) and no round(double, n) (PostgreSQL
    has none); halves round up (floor(x + 0.5)), integers are cast to text. Null gives null.
#}
{% macro number_text(value) -%}
    cast(cast(floor(({{ value }}) + 0.5) as bigint) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro percent_text(share) -%}
    {{ number_text('100.0 * (' ~ share ~ ')') }} || '%'
{%- endmacro %}

{% macro money_text(amount, currency) -%}
    {%- set tenths_of_millions = 'floor(abs(' ~ amount ~ ') / 100000.0 + 0.5)' -%}
    case
        when ({{ amount }}) is null then null
        else
            case when ({{ amount }}) < 0 then '-' else '' end
            || {{ currency }} || ' '
            || case
                when abs({{ amount }}) >= 999500
                    then
                        cast(
                            cast(floor({{ tenths_of_millions }} / 10.0) as bigint)
                            as {{ dbt.type_string() }}
                        )
                        || '.'
                        || cast(
                            cast(
                                {{ tenths_of_millions }}
                                - 10 * floor({{ tenths_of_millions }} / 10.0) as bigint
                            ) as {{ dbt.type_string() }}
                        )
                        || ' million'
                when abs({{ amount }}) >= 999.5
                    then {{ number_text('abs(' ~ amount ~ ') / 1000.0') }} || ' thousand'
                else {{ number_text('abs(' ~ amount ~ ')') }}
            end
    end
{%- endmacro %}
