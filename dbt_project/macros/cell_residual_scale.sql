{#
    The CR2 scale of a unit's residual in a cell mean of n units: sqrt(n / (n - 1)) / n, so the
    sum of squared scaled residuals is the unbiased variance of the mean (docs/method.md 4).
#}
{% macro cell_residual_scale(n) -%}
    sqrt(({{ n }}) / (({{ n }}) - 1.0)) / ({{ n }})
{%- endmacro %}
