{#
    The portfolio headline over int_initiative_months_assessed, per month and the extra
    grouping columns given (for example business_unit). Definition in docs/discipline.md.
#}
{% macro portfolio_headline(initiative_months, group_by=[]) -%}
    {%- set keys = group_by + ['report_month', 'month_end_on'] -%}
    select
        {% for key in keys -%}
            {{ key }},
        {% endfor -%}
        max(currency) as currency,
        cast(sum(case when is_started then 1 else 0 end) as integer) as n_initiatives,
        cast(
            sum(case when is_started and not is_killed then 1 else 0 end) as integer
        ) as n_active_initiatives,
        cast(sum(case when is_killed then 1 else 0 end) as integer) as n_killed_initiatives,
        cast(sum(case when is_in_production then 1 else 0 end) as integer)
            as n_in_production,
        cast(sum(case when is_delivering_value then 1 else 0 end) as integer)
            as n_delivering_value,
        cast(
            sum(case when is_delivering_value then 1.0 else 0.0 end)
            / nullif(sum(case when is_started then 1 else 0 end), 0) as {{ type_double() }}
        ) as share_of_initiatives_delivering_value,
        cast(sum(cumulative_cost_amount) as {{ type_double() }}) as spend_to_date_amount,
        cast(
            sum(case when is_in_production then cumulative_cost_amount else 0 end)
            as {{ type_double() }}
        ) as spend_to_date_in_production_amount,
        cast(
            sum(case when is_delivering_value then cumulative_cost_amount else 0 end)
            as {{ type_double() }}
        ) as spend_to_date_delivering_value_amount,
        cast(
            sum(case when is_delivering_value then cumulative_cost_amount else 0 end)
            / nullif(sum(cumulative_cost_amount), 0) as {{ type_double() }}
        ) as share_of_spend_delivering_value,
        cast(sum(cost_amount) as {{ type_double() }}) as spend_in_month_amount,
        cast(sum(case when is_pilot then 1 else 0 end) as integer) as n_pilots,
        cast(
            avg(case when is_pilot then days_in_stage end) as {{ type_double() }}
        ) as avg_pilot_age_days,
        cast(sum(case when is_stuck_pilot then 1 else 0 end) as integer) as n_stuck_pilots,
        cast(
            sum(cumulative_attributed_value_amount) as {{ type_double() }}
        ) as value_to_date_amount,
        cast(sum(attributed_value_amount) as {{ type_double() }}) as value_in_month_amount,
        cast(
            sum(cumulative_attributed_value_amount) - sum(cumulative_cost_amount)
            as {{ type_double() }}
        ) as net_value_to_date_amount,
        cast(
            sum(cumulative_attributed_value_amount) / nullif(sum(cumulative_cost_amount), 0)
            as {{ type_double() }}
        ) as value_per_money_invested
    from {{ initiative_months }}
    group by
        {% for key in keys -%}
            {{ key }}{{ ',' if not loop.last }}
        {% endfor %}
{%- endmacro %}
