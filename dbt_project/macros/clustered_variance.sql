{#
    Aggregates of unit influences (int_unit_influences_summed shape) that a clustered interval
    needs, as select-list items of a GROUP BY over the units of one estimate: the variance
    (sum of squared influences), the treated and control design variance shares and unit
    counts that welch_degrees_of_freedom takes.
#}
{% macro clustered_variance(influence, design_influence, is_treated_unit) -%}
    sum({{ influence }} * {{ influence }}) as effect_variance,
    sum(case when {{ is_treated_unit }} then {{ design_influence }} * {{ design_influence }} else 0 end)
        as treated_design_variance,
    sum(case when {{ is_treated_unit }} then 0 else {{ design_influence }} * {{ design_influence }} end)
        as control_design_variance,
    sum(case when {{ is_treated_unit }} then 1 else 0 end) as n_treated_units,
    sum(case when {{ is_treated_unit }} then 0 else 1 end) as n_control_only_units
{%- endmacro %}
