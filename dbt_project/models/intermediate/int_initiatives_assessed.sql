{#-
    One row per initiative: every fact a phase gate or a stop decision reads, as of the as-of
    date (int_as_of_dates_chosen). Forward-looking by construction: the expected value and cost
    cover the next horizon_months at the pace of the latest run_rate_months whole months; money
    spent before that window is shown (cost_to_date_amount) and read by no rule.
-#}

with

initiatives as (

    select * from {{ ref('stg_portfolio__initiatives') }}

),

stages as (

    select * from {{ ref('stg_portfolio__stages') }}

),

rollout as (

    select * from {{ ref('stg_portfolio__rollout') }}

),

criteria as (

    select * from {{ ref('stg_portfolio__gate_criteria') }}

),

blockers as (

    select * from {{ ref('stg_portfolio__blockers') }}

),

adoption as (

    select * from {{ ref('stg_evidence__adoption') }}

),

costs as (

    select * from {{ ref('stg_evidence__ai_costs') }}

),

effects as (

    select * from {{ ref('fct_initiative_kpi_effects') }}

),

kpi_months as (

    select * from {{ ref('fct_initiative_kpi_monthly') }}

),

kpis as (

    select * from {{ ref('stg_portfolio__kpis') }}

),

evidence_status as (

    select * from {{ ref('int_evidence_status_by_initiative') }}

),

as_of as (

    select * from {{ ref('int_as_of_dates_chosen') }}

),

-- A killed initiative is judged at the gate after the last stage it reached before the kill.
last_active_stages as (

    select
        initiative_id,
        max(stage_order) as stage_order

    from stages
    where stage != 'killed'
    group by initiative_id

),

active_stage as (

    select
        stages.initiative_id,
        stages.stage as active_stage,
        stages.entered_on as active_stage_entered_on

    from stages
    inner join last_active_stages
        on
            stages.initiative_id = last_active_stages.initiative_id
            and stages.stage_order = last_active_stages.stage_order

),

rollout_summary as (

    select
        rollout.initiative_id,
        count(*) as n_units_planned,
        sum(case when rollout.go_live_on <= as_of.as_of_date then 1 else 0 end) as n_units_live,
        min(rollout.go_live_on) as first_go_live_on

    from rollout
    cross join as_of
    group by rollout.initiative_id

),

adoption_window as (

    select
        adoption.initiative_id,
        sum(adoption.active_users) as active_users,
        sum(adoption.eligible_users) as eligible_users

    from adoption
    inner join initiatives
        on adoption.initiative_id = initiatives.initiative_id
    cross join as_of
    where
        adoption.observed_on <= as_of.as_of_date
        and adoption.observed_on > cast(
            {{ dbt.dateadd('day', '-1 * initiatives.adoption_window_days', 'as_of.as_of_date') }}
            as date
        )
    group by adoption.initiative_id

),

cost_summary as (

    select
        costs.initiative_id,
        sum(
            case
                when
                    costs.cost_month <= as_of.last_whole_month
                    and costs.cost_month > cast(
                        {{ dbt.dateadd(
                            'month', '-1 * initiatives.run_rate_months', 'as_of.last_whole_month'
                        ) }} as date
                    )
                    then costs.cost_amount
                else 0
            end
        ) as run_rate_window_cost_amount,
        sum(
            case when costs.cost_month <= as_of.as_of_month then costs.cost_amount else 0 end
        ) as cost_to_date_amount

    from costs
    inner join initiatives
        on costs.initiative_id = initiatives.initiative_id
    cross join as_of
    group by costs.initiative_id

),

-- Money per unit of favourable KPI change, per month, at the latest months' volume.
volume_window as (

    select
        kpi_months.initiative_id,
        kpi_months.kpi_id,
        sum(kpi_months.volume * kpi_months.value_per_unit) as window_money_per_change

    from kpi_months
    inner join initiatives
        on kpi_months.initiative_id = initiatives.initiative_id
    cross join as_of
    where
        kpi_months.report_month <= as_of.last_whole_month
        and kpi_months.report_month > cast(
            {{ dbt.dateadd(
                'month', '-1 * initiatives.run_rate_months', 'as_of.last_whole_month'
            ) }} as date
        )
    group by
        kpi_months.initiative_id,
        kpi_months.kpi_id

),

-- Expected value over the horizon per KPI: the attributed favourable change (and its 95%
-- interval) x the money one unit of change earns per month at recent volume x horizon.
kpi_outlook as (

    select
        effects.initiative_id,
        effects.kpi_id,
        kpis.kpi_name,
        effects.evidence_verdict,
        effects.attributed_attainment,
        effects.attributed_favourable_change,
        effects.ci_low,
        effects.ci_high,
        effects.evidence_verdict != 'insufficient evidence' as has_interval,
        coalesce(volume_window.window_money_per_change, 0)
        / initiatives.run_rate_months
        * initiatives.horizon_months as money_per_change_over_horizon

    from effects
    inner join initiatives
        on effects.initiative_id = initiatives.initiative_id
    left join kpis
        on effects.kpi_id = kpis.kpi_id
    left join volume_window
        on
            effects.initiative_id = volume_window.initiative_id
            and effects.kpi_id = volume_window.kpi_id

),

kpi_summary as (

    select
        initiative_id,
        count(*) as n_kpis,
        sum(case when evidence_verdict = 'measurable value' then 1 else 0 end)
            as n_kpis_measurable_value,
        sum(case when evidence_verdict = 'no measurable value' then 1 else 0 end)
            as n_kpis_no_measurable_value,
        sum(case when evidence_verdict = 'harmful' then 1 else 0 end) as n_kpis_harmful,
        sum(case when has_interval then 0 else 1 end) as n_kpis_insufficient_evidence,
        -- Every KPI must reach its share of target: the weakest one counts.
        case
            when count(attributed_attainment) = count(*) then min(attributed_attainment)
        end as min_target_attainment,
        sum(attributed_favourable_change * money_per_change_over_horizon)
            as expected_value_amount,
        sum(ci_low * money_per_change_over_horizon) as expected_value_low_amount,
        sum(ci_high * money_per_change_over_horizon) as expected_value_high_amount,
        {{ text_list(
            "case when evidence_verdict = 'harmful' then kpi_name end", "kpi_name"
        ) }} as harmful_kpis,
        {{ text_list("kpi_name", "kpi_name") }} as kpi_names

    from kpi_outlook
    group by initiative_id

),

blocker_summary as (

    select
        blockers.initiative_id,
        sum(case when blockers.is_resolved then 0 else 1 end) as n_open_blockers,
        max(
            case
                when not blockers.is_resolved
                    then {{ dbt.datediff('blockers.raised_on', 'as_of.as_of_date', 'day') }}
            end
        ) as oldest_open_blocker_days

    from blockers
    cross join as_of
    group by blockers.initiative_id

),

stage_limits as (

    select
        initiative_id,
        from_stage,
        threshold as max_days_in_stage

    from criteria
    where criterion = 'max_days_in_stage'

),

joined as (

    select
        initiatives.initiative_id,
        initiatives.initiative_name,
        initiatives.business_unit,
        initiatives.currency,
        initiatives.current_stage,
        initiatives.current_stage_entered_on,
        active_stage.active_stage,
        case active_stage.active_stage
            when 'idea' then 'poc'
            when 'poc' then 'pilot'
            when 'pilot' then 'production'
            when 'production' then 'scaled'
        end as next_stage,
        initiatives.budget_amount,
        initiatives.horizon_months,
        initiatives.run_rate_months,
        initiatives.adoption_window_days,
        as_of.as_of_date,
        case
            when initiatives.current_stage_entered_on <= as_of.as_of_date
                then {{ dbt.datediff(
                    'initiatives.current_stage_entered_on', 'as_of.as_of_date', 'day'
                ) }}
            else 0
        end as days_in_stage,
        case
            when initiatives.current_stage_entered_on <= as_of.as_of_date
                then {{ dbt.datediff(
                    'initiatives.current_stage_entered_on', 'as_of.as_of_date', 'month'
                ) }}
            else 0
        end as months_in_stage,
        case when initiatives.current_stage != 'killed' then stage_limits.max_days_in_stage end
            as max_days_in_stage,
        coalesce(rollout_summary.n_units_planned, 0) as n_units_planned,
        coalesce(rollout_summary.n_units_live, 0) as n_units_live,
        rollout_summary.first_go_live_on,
        case
            when rollout_summary.first_go_live_on <= as_of.as_of_date
                then {{ dbt.datediff(
                    'rollout_summary.first_go_live_on', 'as_of.as_of_date', 'month'
                ) }}
        end as months_live,
        coalesce(evidence_status.evidence_status, 'fail') as evidence_status,
        coalesce(evidence_status.is_evidence_verified, false) as is_evidence_verified,
        coalesce(evidence_status.evidence_note, 'unverified: no evidence status')
            as evidence_note,
        coalesce(kpi_summary.n_kpis, 0) as n_kpis,
        coalesce(kpi_summary.n_kpis_measurable_value, 0) as n_kpis_measurable_value,
        coalesce(kpi_summary.n_kpis_no_measurable_value, 0) as n_kpis_no_measurable_value,
        coalesce(kpi_summary.n_kpis_harmful, 0) as n_kpis_harmful,
        coalesce(kpi_summary.n_kpis_insufficient_evidence, 0) as n_kpis_insufficient_evidence,
        kpi_summary.harmful_kpis,
        kpi_summary.kpi_names,
        kpi_summary.min_target_attainment,
        cast(adoption_window.active_users as {{ type_double() }})
        / nullif(cast(adoption_window.eligible_users as {{ type_double() }}), 0)
            as adoption_rate,
        -- An interval for the expected value only when every KPI has one.
        case
            when kpi_summary.n_kpis > 0 and kpi_summary.n_kpis_insufficient_evidence = 0
                then kpi_summary.expected_value_amount
        end as expected_value_amount,
        case
            when kpi_summary.n_kpis > 0 and kpi_summary.n_kpis_insufficient_evidence = 0
                then kpi_summary.expected_value_low_amount
        end as expected_value_low_amount,
        case
            when kpi_summary.n_kpis > 0 and kpi_summary.n_kpis_insufficient_evidence = 0
                then kpi_summary.expected_value_high_amount
        end as expected_value_high_amount,
        coalesce(cost_summary.run_rate_window_cost_amount, 0)
        / initiatives.run_rate_months as monthly_run_cost_amount,
        coalesce(cost_summary.cost_to_date_amount, 0) as cost_to_date_amount,
        coalesce(blocker_summary.n_open_blockers, 0) as n_open_blockers,
        blocker_summary.oldest_open_blocker_days

    from initiatives
    cross join as_of
    left join active_stage
        on initiatives.initiative_id = active_stage.initiative_id
    left join stage_limits
        on
            initiatives.initiative_id = stage_limits.initiative_id
            and initiatives.current_stage = stage_limits.from_stage
    left join rollout_summary
        on initiatives.initiative_id = rollout_summary.initiative_id
    left join evidence_status
        on initiatives.initiative_id = evidence_status.initiative_id
    left join kpi_summary
        on initiatives.initiative_id = kpi_summary.initiative_id
    left join adoption_window
        on initiatives.initiative_id = adoption_window.initiative_id
    left join cost_summary
        on initiatives.initiative_id = cost_summary.initiative_id
    left join blocker_summary
        on initiatives.initiative_id = blocker_summary.initiative_id

),

final as (

    select
        *,
        monthly_run_cost_amount * horizon_months as expected_cost_amount,
        expected_value_amount
        / nullif(monthly_run_cost_amount * horizon_months, 0) as value_to_cost,
        monthly_run_cost_amount * 12 / nullif(budget_amount, 0) as run_cost_to_budget,
        coalesce(days_in_stage > max_days_in_stage, false) as is_stuck

    from joined

)

select * from final
