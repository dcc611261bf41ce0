-- One row per initiative x unit x month with adoption evidence: the adoption rate (active /
-- eligible users, summed over the month's counts, so every count weighs by its eligible users).
with

adoption as (

    select * from {{ ref('stg_evidence__adoption') }}

),

rollout as (

    select * from {{ ref('stg_portfolio__rollout') }}

),

monthly as (

    select
        initiative_id,
        unit_id,
        {{ month_start('observed_on') }} as report_month,
        count(*) as n_counts,
        sum(active_users) as active_users,
        sum(eligible_users) as eligible_users,
        max(observed_on) as last_observed_on

    from adoption
    group by
        initiative_id,
        unit_id,
        {{ month_start('observed_on') }}

),

final as (

    select
        monthly.initiative_id,
        monthly.unit_id,
        monthly.report_month,
        rollout.go_live_on,
        cast(monthly.n_counts as integer) as n_counts,
        cast(
            monthly.active_users as {{ type_double() }}
        ) / monthly.n_counts as avg_active_users,
        cast(
            monthly.eligible_users as {{ type_double() }}
        ) / monthly.n_counts as avg_eligible_users,
        cast(monthly.active_users as {{ type_double() }})
        / nullif(cast(monthly.eligible_users as {{ type_double() }}), 0) as adoption_rate,
        monthly.last_observed_on

    from monthly
    left join rollout
        on
            monthly.initiative_id = rollout.initiative_id
            and monthly.unit_id = rollout.unit_id

)

select * from final
