-- One row per initiative x month with adoption evidence: the adoption rate over every unit
-- counted that month (active / eligible users, summed), and how many units were counted.
with

unit_months as (

    select * from {{ ref('fct_unit_adoption_monthly') }}

),

final as (

    select
        initiative_id,
        report_month,
        cast(count(*) as integer) as n_units,
        cast(sum(avg_active_users) as {{ type_double() }}) as avg_active_users,
        cast(sum(avg_eligible_users) as {{ type_double() }}) as avg_eligible_users,
        cast(
            sum(avg_active_users * n_counts)
            / nullif(sum(avg_eligible_users * n_counts), 0) as {{ type_double() }}
        ) as adoption_rate,
        min(adoption_rate) as min_unit_adoption_rate,
        max(adoption_rate) as max_unit_adoption_rate

    from unit_months
    group by
        initiative_id,
        report_month

)

select * from final
