{#
    Every row of `model` whose series (series_columns, e.g. unit x KPI) and date
    (date_column) more than one source system reports: an overlap the ingestion config must
    allow, since every row counts as one observation downstream. Duplicates within one source
    system are the grain test's (unique_combination_of_columns). Only series that two systems
    report are compared date by date: found first on the series keys (70k at 50M
    observations), which made the test 1.6 s instead of 9-15 s for grouping every date.
    changed_months_of: as in unique_combination_of_columns, a partition run tests only the
    re-processed months. Series ids must not be null (their not_null tests): plain equality
    joins them, as every engine has it.
#}
{% test reported_by_one_source_system(model, series_columns, date_column, changed_months_of=none) %}

{%- set in_changed_months = changed_months_of is not none and observation_months() is not none %}

with

shared_series as (

    select {{ series_columns | join(', ') }}

    from {{ model }}
    {%- if in_changed_months %}
    where {{ month_start(changed_months_of) }} in {{ observation_months_list() }}
    {%- endif %}
    group by {{ series_columns | join(', ') }}
    having min(source_system) <> max(source_system)

),

final as (

    select
        {%- for column in series_columns %}
        observations.{{ column }},
        {%- endfor %}
        observations.{{ date_column }},
        count(distinct observations.source_system) as n_source_systems,
        count(*) as n_rows

    from {{ model }} as observations
    inner join shared_series
        on
        {%- for column in series_columns %}
            {{ 'and ' if not loop.first }}observations.{{ column }} = shared_series.{{ column }}
        {%- endfor %}
    {%- if in_changed_months %}
    where {{ month_start('observations.' ~ changed_months_of) }} in {{ observation_months_list() }}
    {%- endif %}
    group by
        {%- for column in series_columns %}
        observations.{{ column }},
        {%- endfor %}
        observations.{{ date_column }}
    having count(distinct observations.source_system) > 1

)

select * from final

{% endtest %}
