{#
    Welch-Satterthwaite degrees of freedom of a variance made of two parts, v1 from n1 units
    (the treated units) and v2 from n2 units (the units only ever used as controls):
        df = (v1 + v2)^2 / (v1^2 / (n1 - 1) + v2^2 / (n2 - 1)).
    Called with the design variances (each unit's squared design influence: the share of the
    variance it carries when every unit is equally noisy), this is the Bell-McCaffrey
    degrees of freedom of the working model; for one cell it is Welch's t-test with equal
    variances. A part with fewer than 2 units adds nothing to the denominator; when both
    parts are empty df is n1 + n2 - 2.
#}
{% macro welch_degrees_of_freedom(v1, n1, v2, n2) -%}
    case
        when
            coalesce({{ v1 }} * {{ v1 }} / nullif({{ n1 }} - 1, 0), 0)
            + coalesce({{ v2 }} * {{ v2 }} / nullif({{ n2 }} - 1, 0), 0) > 0
            then
                ({{ v1 }} + {{ v2 }}) * ({{ v1 }} + {{ v2 }})
                / (
                    coalesce({{ v1 }} * {{ v1 }} / nullif({{ n1 }} - 1, 0), 0)
                    + coalesce({{ v2 }} * {{ v2 }} / nullif({{ n2 }} - 1, 0), 0)
                )
        else {{ n1 }} + {{ n2 }} - 2
    end
{%- endmacro %}
