{#
    Fails with one row per combination of the given columns that occurs more than once: the
    model's grain is broken (duplicated rows would double-count values downstream).

    changed_months_of: a date column of the grain. On a partition run (macros/
    observation_months.sql) only the re-processed months are tested: a duplicate shares the
    date, so it lies in the month that changed (50M observations: 17 s of full scans saved).
    On a full build the months are tested first: rows against distinct days per month and
    combination of the other columns (1.7M groups at 50M observations, where every date as a
    group makes 50M: 2 s against 10-12 s). Only the months with more rows than days, and rows
    with a null (which no join finds again), are then grouped by date.
#}
{% test unique_combination_of_columns(model, combination_of_columns, changed_months_of=none) %}

{%- set by_month = changed_months_of is not none %}
{%- set in_changed_months = by_month and observation_months() is not none %}

with

{% if by_month and not in_changed_months -%}
{%- set others = combination_of_columns | reject('equalto', changed_months_of) | list %}
{%- set nulls = [] %}
{%- for column in combination_of_columns %}
    {%- do nulls.append(column ~ ' is null') %}
{%- endfor %}
months as (

    select
        {% for column in others %}{{ column }},
        {% endfor %}{{ month_start(changed_months_of) }} as grain_month,
        count(*) as n_rows,
        {{ distinct_days(changed_months_of) }} as n_days

    from {{ model }}
    group by {% for column in others %}{{ column }}, {% endfor %}{{ month_start(changed_months_of) }}

),

candidates as (

    select rows_.*
    from {{ model }} as rows_
    inner join months
        on
            {% for column in others -%}
            rows_.{{ column }} = months.{{ column }}
            and {% endfor -%}
            {{ month_start('rows_.' ~ changed_months_of) }} = months.grain_month
    where months.n_rows > months.n_days

    union all

    select *
    from {{ model }}
    where {{ nulls | join(' or ') }}

),
{%- else %}
candidates as (

    select * from {{ model }}
    {%- if in_changed_months %}
    where {{ month_start(changed_months_of) }} in {{ observation_months_list() }}
    {%- endif %}

),
{%- endif %}

grouped as (

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as n_rows

    from candidates
    group by {{ combination_of_columns | join(', ') }}

),

final as (

    select * from grouped
    where n_rows > 1

)

select * from final

{% endtest %}
