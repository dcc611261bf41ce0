with

initiatives as (

    select * from {{ ref('stg_portfolio__initiatives') }}

),

rollout as (

    select * from {{ ref('stg_portfolio__rollout') }}

),

initiative_kpis as (

    select * from {{ ref('stg_portfolio__initiative_kpis') }}

),

blockers as (

    select * from {{ ref('stg_portfolio__blockers') }}

),

rollout_plans as (

    select * from {{ ref('int_rollout_plans_compared') }}

),

rollout_summary as (

    select
        initiative_id,
        min(go_live_on) as first_go_live_on,
        max(go_live_on) as last_go_live_on,
        count(*) as n_units_rolled_out

    from rollout
    group by initiative_id

),

kpi_summary as (

    select
        initiative_id,
        count(*) as n_kpis

    from initiative_kpis
    group by initiative_id

),

blocker_summary as (

    select
        initiative_id,
        sum(case when is_resolved then 0 else 1 end) as n_open_blockers

    from blockers
    group by initiative_id

),

figures as (

    select
        initiatives.initiative_id,
        initiatives.initiative_name,
        initiatives.business_unit,
        initiatives.owner_name,
        initiatives.priority,
        initiatives.strategic_theme,
        initiatives.current_stage,
        initiatives.current_stage_entered_on,
        initiatives.budget_amount,
        initiatives.currency,
        initiatives.baseline_days,
        initiatives.ramp_up_days,
        initiatives.min_observations,
        rollout_summary.first_go_live_on,
        rollout_summary.last_go_live_on,
        rollout_plans.is_rollout_as_planned,
        rollout_plans.plan_kpi_id as rollout_plan_kpi_id,
        rollout_plans.mde_value as rollout_plan_mde_value,
        rollout_plans.mde_relative as rollout_plan_mde_relative,
        cast(coalesce(rollout_summary.n_units_rolled_out, 0) as integer) as n_units_rolled_out,
        cast(coalesce(kpi_summary.n_kpis, 0) as integer) as n_kpis,
        cast(coalesce(blocker_summary.n_open_blockers, 0) as integer) as n_open_blockers,
        -- Randomised: a registry rollout plan exists and the go-lives so far follow it.
        rollout_plans.initiative_id is not null as has_rollout_plan,
        coalesce(rollout_plans.is_rollout_as_planned, false) as is_rollout_randomised

    from initiatives
    left join rollout_summary
        on initiatives.initiative_id = rollout_summary.initiative_id
    left join kpi_summary
        on initiatives.initiative_id = kpi_summary.initiative_id
    left join blocker_summary
        on initiatives.initiative_id = blocker_summary.initiative_id
    left join rollout_plans
        on initiatives.initiative_id = rollout_plans.initiative_id

),

-- Every value figure carries the evidence status of its initiative (docs/quality.md):
-- a failing initiative is shown as unverified, never silently reported.
final as (

    {{ with_evidence_status('figures', with_note=true) }}

)

select * from final
