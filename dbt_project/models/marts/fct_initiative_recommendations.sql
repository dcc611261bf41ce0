-- One row per initiative: the recommendation at its next phase gate (advance, hold or kill),
-- the rule that decided it and the reason in plain words, with the forward-looking figures
-- behind it. Rules, first match wins (docs/discipline.md):
--   1. kill: a KPI got worse (95% interval below zero);
--   2. kill: even the top of the 95% interval of the value expected over the horizon does
--      not cover the running cost expected over it;
--   3. kill: past the stage's time limit, and the evidence shows no measurable effect;
--   4. advance: every criterion of the next gate passes;
--   5. hold: anything else (the failing criteria are the reasons).
-- A killed initiative stays killed; the reason says whether the evidence backs the decision.
-- Money already spent is shown (cost_to_date_amount) and read by no rule.
with

assessed as (

    select * from {{ ref('int_initiatives_assessed') }}

),

checks as (

    select * from {{ ref('int_gate_checks_evaluated') }}

),

check_summary as (

    select
        initiative_id,
        sum(case when check_kind = 'gate' then 1 else 0 end) as n_gate_criteria,
        sum(case when check_kind = 'gate' and check_status = 'pass' then 1 else 0 end)
            as n_gate_criteria_passed,
        max(case when check_name = 'no_harm' and check_status = 'fail' then 1 else 0 end) = 1
            as has_harm,
        max(
            case when check_name = 'best_case_pays' and check_status = 'fail' then 1 else 0 end
        ) = 1 as is_best_case_short,
        {{ text_list(
            "case when check_kind = 'gate' and check_status != 'pass' then check_note end",
            "check_name",
            "' '"
        ) }} as unmet_notes,
        {{ text_list(
            "case when check_kind = 'gate' then check_label end", "check_name"
        ) }} as gate_labels,
        max(case when check_name = 'no_harm' then check_note end) as harm_note,
        max(case when check_name = 'best_case_pays' then check_note end) as best_case_note

    from checks
    group by initiative_id

),

decided as (

    select
        assessed.*,
        check_summary.unmet_notes,
        check_summary.gate_labels,
        check_summary.harm_note,
        check_summary.best_case_note,
        coalesce(check_summary.n_gate_criteria, 0) as n_gate_criteria,
        coalesce(check_summary.n_gate_criteria_passed, 0) as n_gate_criteria_passed,
        case
            when coalesce(check_summary.has_harm, false) then 'harmful'
            when coalesce(check_summary.is_best_case_short, false) then 'cannot pay its way'
            when
                assessed.is_stuck
                and assessed.n_kpis_no_measurable_value > 0
                and assessed.n_kpis_measurable_value = 0
                then 'stuck without effect'
            when assessed.current_stage = 'killed' then 'already killed'
            when assessed.next_stage is null then 'last stage'
            when coalesce(check_summary.n_gate_criteria, 0) = 0 then 'no gate criteria'
            when check_summary.n_gate_criteria_passed = check_summary.n_gate_criteria
                then 'gate passed'
            else 'gate not passed'
        end as decision_rule

    from assessed
    left join check_summary
        on assessed.initiative_id = check_summary.initiative_id

),

worded as (

    select
        *,
        case
            when decision_rule in ('harmful', 'cannot pay its way', 'stuck without effect')
                then 'kill'
            when decision_rule = 'already killed' then 'kill'
            when decision_rule = 'gate passed' then 'advance'
            else 'hold'
        end as recommendation,
        case
            when current_stage = 'killed'
                then 'Stopped on ' || cast(current_stage_entered_on as {{ dbt.type_string() }})
                    || '. '
            else ''
        end as killed_prefix,
        case
            when is_stuck and decision_rule != 'stuck without effect'
                then
                    ' It has been in ' || current_stage || ' for '
                    || {{ number_text('days_in_stage / 30.4375') }}
                    || ' months; the limit is '
                    || {{ number_text('max_days_in_stage / 30.4375') }} || '.'
            else ''
        end as stuck_sentence,
        case
            when n_open_blockers > 0 and current_stage != 'killed'
                then
                    ' ' || {{ number_text('n_open_blockers') }} || ' open blocker'
                    || case when n_open_blockers > 1 then 's' else '' end
                    || ', the oldest raised '
                    || {{ number_text('oldest_open_blocker_days / 30.4375') }}
                    || ' months ago.'
            else ''
        end as blocker_sentence

    from decided

),

final as (

    select
        initiative_id,
        initiative_name,
        business_unit,
        currency,
        as_of_date,
        current_stage,
        current_stage_entered_on,
        next_stage,
        recommendation,
        decision_rule,
        case decision_rule
            when 'harmful'
                then killed_prefix
                    || case
                        when current_stage = 'killed' then 'Keep it stopped: ' else 'Stop it: '
                    end
                    || 'the evidence shows it does harm. ' || harm_note
            when 'cannot pay its way'
                then killed_prefix
                    || case
                        when current_stage = 'killed' then 'Keep it stopped: ' else 'Stop it: '
                    end
                    || 'it cannot pay its way. ' || best_case_note
                    || ' Money already spent does not count either way.'
            when 'stuck without effect'
                then 'Stop it, or fix it now: after '
                    || {{ number_text('days_in_stage / 30.4375') }} || ' months in '
                    || current_stage || ' (the limit is '
                    || {{ number_text('max_days_in_stage / 30.4375') }}
                    || ') there is no measurable effect on ' || kpi_names || '.'
            when 'already killed'
                then killed_prefix || 'The evidence alone would not have stopped it; that is'
                    || ' fine if the reason was strategic, worth a second look if not.'
            when 'last stage'
                then
                    'Keep it running: scaled is the last stage.'
                    || case
                        when expected_value_amount is not null
                            then ' Over the next ' || {{ number_text('horizon_months') }}
                                || ' months it should bring '
                                || {{ money_text('expected_value_amount', 'currency') }}
                                || ' for '
                                || {{ money_text('expected_cost_amount', 'currency') }}
                                || ' of running cost.'
                        else ''
                    end
            when 'no gate criteria'
                then 'No criteria are set for the move to ' || next_stage
                    || ': the portfolio board decides.'
            when 'gate passed'
                then 'Ready for ' || next_stage || ': every criterion of the gate is met ('
                    || lower(gate_labels) || ').'
            else 'Not ready for ' || next_stage || ': ' || unmet_notes
        end
        || stuck_sentence
        || blocker_sentence as recommendation_reason,
        cast(n_gate_criteria as integer) as n_gate_criteria,
        cast(n_gate_criteria_passed as integer) as n_gate_criteria_passed,
        evidence_status,
        cast(days_in_stage as integer) as days_in_stage,
        cast(max_days_in_stage as integer) as max_days_in_stage,
        is_stuck,
        cast(n_open_blockers as integer) as n_open_blockers,
        cast(oldest_open_blocker_days as integer) as oldest_open_blocker_days,
        cast(n_kpis as integer) as n_kpis,
        cast(n_kpis_measurable_value as integer) as n_kpis_measurable_value,
        cast(n_kpis_harmful as integer) as n_kpis_harmful,
        cast(min_target_attainment as {{ type_double() }}) as min_target_attainment,
        cast(adoption_rate as {{ type_double() }}) as adoption_rate,
        cast(horizon_months as integer) as horizon_months,
        cast(expected_value_amount as {{ type_double() }}) as expected_value_amount,
        cast(expected_value_low_amount as {{ type_double() }}) as expected_value_low_amount,
        cast(expected_value_high_amount as {{ type_double() }}) as expected_value_high_amount,
        cast(expected_cost_amount as {{ type_double() }}) as expected_cost_amount,
        cast(
            expected_value_amount - expected_cost_amount as {{ type_double() }}
        ) as expected_net_value_amount,
        cast(value_to_cost as {{ type_double() }}) as value_to_cost,
        cast(monthly_run_cost_amount as {{ type_double() }}) as monthly_run_cost_amount,
        cast(budget_amount as {{ type_double() }}) as budget_amount,
        cast(cost_to_date_amount as {{ type_double() }}) as cost_to_date_amount,
        cast(
            cost_to_date_amount / nullif(budget_amount, 0) as {{ type_double() }}
        ) as budget_used_share

    from worded

)

select * from final
