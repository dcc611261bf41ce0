-- The goalpost audit: every change to the registry's targets, value models, stage dates,
-- go-live dates, gate thresholds, budgets and settings since the snapshots began, one row per
-- item x attribute x change: what changed, from, to, and when (the build that saw it, UTC).
-- is_after_go_live: the change was seen on or after the initiative's first go-live.
-- is_post_hoc: a pre-registered item (target, gate threshold, rollout plan's MDE) changed after
-- go-live, when it was frozen (docs/method.md, Rollout design and pre-registration).
-- Reads the registry snapshots, which need Delta tables on Spark: not built there.
{{ config(enabled=target.type != 'spark') }}

with

initiatives as (

    select * from {{ ref('dim_initiatives') }}

),

changes as (

    {{ snapshot_changes(
        ref('snap_portfolio__initiative_kpis'), ['initiative_id', 'kpi_id'], 'kpi_id',
        'kpi target',
        ['direction', 'target_type', 'target_change', 'value_per_unit', 'value_driver', 'is_cash']
    ) }}

    union all

    {{ snapshot_changes(
        ref('snap_portfolio__stages'), ['initiative_id', 'stage'], 'stage', 'stage date',
        ['entered_on']
    ) }}

    union all

    {{ snapshot_changes(
        ref('snap_portfolio__rollout'), ['initiative_id', 'unit_id'], 'unit_id', 'go-live date',
        ['go_live_on']
    ) }}

    union all

    {{ snapshot_changes(
        ref('snap_portfolio__gate_criteria'), ['initiative_id', 'to_stage', 'criterion'],
        "to_stage || '.' || criterion", 'gate criterion', ['threshold']
    ) }}

    union all

    {{ snapshot_changes(
        ref('snap_portfolio__initiatives'), ['initiative_id'], "'initiative'", 'initiative',
        [
            'budget_amount', 'baseline_days', 'ramp_up_days', 'min_observations',
            'baseline_grace_days', 'horizon_months', 'run_rate_months', 'adoption_window_days',
        ]
    ) }}

    union all

    {{ snapshot_changes(
        ref('snap_portfolio__rollout_plans'), ['initiative_id'], "'rollout_plan'",
        'rollout plan',
        ['kpi_id', 'plan_seed', 'n_waves', 'mde_value', 'mde_relative', 'mde_alpha', 'mde_power']
    ) }}

),

final as (

    select
        changes.change_subject,
        changes.initiative_id,
        changes.item_id,
        changes.attribute,
        changes.changed_at,
        cast(changes.changed_at as date) as changed_on,
        changes.change_kind,
        changes.value_from,
        changes.value_to,
        initiatives.first_go_live_on,
        coalesce(
            cast(changes.changed_at as date) >= initiatives.first_go_live_on, false
        ) as is_after_go_live,
        coalesce(
            cast(changes.changed_at as date) >= initiatives.first_go_live_on
            and (
                changes.change_subject in ('gate criterion', 'rollout plan')
                or (
                    changes.change_subject = 'kpi target'
                    and changes.attribute in ('direction', 'target_type', 'target_change')
                )
            ),
            false
        ) as is_post_hoc

    from changes
    left join initiatives
        on changes.initiative_id = initiatives.initiative_id

)

select * from final
