{#
    The mean of a KPI over a set of observations, by the KPI's aggregation: ratio KPIs (shares,
    rates) are weighted by the observation weight (a missing weight counts as 1), every other KPI
    is a plain mean. `aggregation` must be constant in the group (group by it).
#}
{% macro kpi_mean(aggregation, value, weight) -%}
    case
        when {{ aggregation }} = 'ratio'
            then
                sum({{ value }} * coalesce({{ weight }}, 1))
                / nullif(sum(coalesce({{ weight }}, 1)), 0)
        else avg({{ value }})
    end
{%- endmacro %}
