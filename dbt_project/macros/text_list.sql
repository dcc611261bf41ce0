{#- The non-null values of a group as one text, in a stated order; null when there are none.
    dbt.listagg on Spark ignores the order and gives '' for an empty group, so Spark sorts
    (order key, value) pairs itself. -#}
{% macro text_list(value, order_by, delimiter="', '") %}
    {{ return(adapter.dispatch("text_list")(value, order_by, delimiter)) }}
{% endmacro %}

{% macro default__text_list(value, order_by, delimiter) %}
    {{ dbt.listagg(value, delimiter, "order by " ~ order_by) }}
{% endmacro %}

{% macro spark__text_list(value, order_by, delimiter) %}
    nullif(
        array_join(
            transform(
                array_sort(collect_list(named_struct('k', {{ order_by }}, 'v', {{ value }}))),
                x -> x.v
            ),
            {{ delimiter }}
        ),
        ''
    )
{% endmacro %}
