-- One row per initiative with a rollout plan: the actual go-lives against the plan. A unit is
-- as planned when it went live on its wave's date; off plan when it went live on another date,
-- or went live without a wave (a planned control or a unit outside the plan); missed when its
-- wave's date has passed (as-of date) and it is not live; pending when its wave is still ahead.
-- A rollout that deviates is no longer the randomised design: the assignment may then depend on
-- what was seen, which is what randomisation was meant to rule out.
with

plans as (

    select * from {{ ref('stg_portfolio__rollout_plans') }}

),

plan_units as (

    select * from {{ ref('stg_portfolio__rollout_plan_units') }}

),

rollout as (

    select * from {{ ref('stg_portfolio__rollout') }}

),

as_of as (

    select * from {{ ref('int_as_of_dates_chosen') }}

),

planned_rollout as (

    select
        rollout.initiative_id,
        rollout.unit_id,
        rollout.go_live_on
    from rollout
    inner join plans
        on rollout.initiative_id = plans.initiative_id

),

compared as (

    select
        coalesce(plan_units.initiative_id, planned_rollout.initiative_id) as initiative_id,
        case
            when
                planned_rollout.go_live_on is not null
                and plan_units.planned_go_live_on = planned_rollout.go_live_on
                then 'as planned'
            when planned_rollout.go_live_on is not null then 'off plan'
            when plan_units.planned_go_live_on is null then 'control'
            when plan_units.planned_go_live_on <= as_of.as_of_date then 'missed'
            else 'pending'
        end as unit_status

    from plan_units
    full outer join planned_rollout
        on
            plan_units.initiative_id = planned_rollout.initiative_id
            and plan_units.unit_id = planned_rollout.unit_id
    cross join as_of

),

summary as (

    select
        initiative_id,
        sum(case when unit_status = 'as planned' then 1 else 0 end) as n_units_as_planned,
        sum(case when unit_status = 'off plan' then 1 else 0 end) as n_units_off_plan,
        sum(case when unit_status = 'missed' then 1 else 0 end) as n_units_missed,
        sum(case when unit_status = 'pending' then 1 else 0 end) as n_units_pending

    from compared
    group by initiative_id

),

final as (

    select
        plans.initiative_id,
        plans.plan_seed,
        plans.planned_on,
        plans.kpi_id as plan_kpi_id,
        plans.n_waves as n_planned_waves,
        plans.mde_value,
        plans.mde_relative,
        cast(coalesce(summary.n_units_as_planned, 0) as integer) as n_units_as_planned,
        cast(coalesce(summary.n_units_off_plan, 0) as integer) as n_units_off_plan,
        cast(coalesce(summary.n_units_missed, 0) as integer) as n_units_missed,
        cast(coalesce(summary.n_units_pending, 0) as integer) as n_units_pending,
        coalesce(summary.n_units_off_plan, 0) = 0
        and coalesce(summary.n_units_missed, 0) = 0 as is_rollout_as_planned

    from plans
    left join summary
        on plans.initiative_id = summary.initiative_id

)

select * from final
