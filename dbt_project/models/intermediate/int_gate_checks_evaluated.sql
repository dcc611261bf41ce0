{#-
    One row per initiative x check, each with its observed value, threshold, status and a
    sentence a non-analyst can read. Three kinds of check:
    - `gate`: the registry's criteria for the initiative's next gate (all must pass to advance);
    - `stop`: standing tests every initiative with KPIs faces: no KPI harmful, and the best
      case of the expected value over the horizon at least covers the expected running cost;
    - `time limit`: days in the current stage against the gate's max_days_in_stage.
    Status is pass, fail or no data (nothing to measure yet: never a pass).
-#}

with

assessed as (

    select * from {{ ref('int_initiatives_assessed') }}

),

criteria as (

    select * from {{ ref('stg_portfolio__gate_criteria') }}
    where criterion != 'max_days_in_stage'

),

gate_checks as (

    select
        assessed.initiative_id,
        'gate' as check_kind,
        criteria.criterion as check_name,
        criteria.threshold,
        case criteria.criterion
            when 'evidence_verified'
                then case when assessed.is_evidence_verified then 1.0 else 0.0 end
            when 'measurable_value'
                then case when assessed.n_kpis_measurable_value > 0 then 1.0 else 0.0 end
            when 'min_target_attainment' then assessed.min_target_attainment
            when 'min_adoption_rate' then assessed.adoption_rate
            when 'min_months_live' then assessed.months_live
            when 'min_months_in_stage' then assessed.months_in_stage
            when 'min_units_planned' then assessed.n_units_planned
            when 'min_value_to_cost' then assessed.value_to_cost
            when 'max_run_cost_to_budget' then assessed.run_cost_to_budget
        end as observed_value,
        coalesce(
            criteria.criterion = 'measurable_value'
            and assessed.n_kpis_measurable_value = 0
            and assessed.n_kpis_harmful = 0
            and assessed.n_kpis_no_measurable_value = 0,
            false
        ) as is_without_evidence

    from assessed
    inner join criteria
        on
            assessed.initiative_id = criteria.initiative_id
            and assessed.next_stage = criteria.to_stage

),

stop_checks as (

    select
        initiative_id,
        'stop' as check_kind,
        'no_harm' as check_name,
        0.0 as threshold,
        cast(n_kpis_harmful as {{ type_double() }}) as observed_value,
        n_kpis_harmful = 0 and n_kpis_insufficient_evidence = n_kpis as is_without_evidence

    from assessed
    where n_kpis > 0

    union all

    select
        initiative_id,
        'stop' as check_kind,
        'best_case_pays' as check_name,
        0.0 as threshold,
        expected_value_high_amount - expected_cost_amount as observed_value,
        expected_value_high_amount is null as is_without_evidence

    from assessed
    where n_kpis > 0

    union all

    select
        initiative_id,
        'time limit' as check_kind,
        'max_days_in_stage' as check_name,
        max_days_in_stage as threshold,
        cast(days_in_stage as {{ type_double() }}) as observed_value,
        false as is_without_evidence

    from assessed
    where max_days_in_stage is not null

),

checks as (

    select * from gate_checks
    union all
    select * from stop_checks

),

statused as (

    select
        checks.*,
        case
            when checks.is_without_evidence or checks.observed_value is null then 'no data'
            when checks.check_name like 'max%' and checks.observed_value <= checks.threshold
                then 'pass'
            when checks.check_name like 'max%' then 'fail'
            when checks.check_name = 'no_harm' and checks.observed_value <= checks.threshold
                then 'pass'
            when checks.check_name = 'no_harm' then 'fail'
            when checks.observed_value >= checks.threshold then 'pass'
            else 'fail'
        end as check_status

    from checks

),

final as (

    select
        statused.initiative_id,
        statused.check_kind,
        statused.check_name,
        assessed.active_stage as from_stage,
        case when statused.check_kind = 'gate' then assessed.next_stage end as to_stage,
        cast(statused.threshold as {{ type_double() }}) as threshold,
        cast(statused.observed_value as {{ type_double() }}) as observed_value,
        statused.check_status,
        statused.check_status = 'pass' as is_passed,
        case statused.check_name
            when 'evidence_verified' then 'The evidence checks pass'
            when 'measurable_value' then 'The measured effect is real'
            when 'min_target_attainment'
                then 'At least ' || {{ percent_text('statused.threshold') }} || ' of target'
            when 'min_adoption_rate'
                then 'At least ' || {{ percent_text('statused.threshold') }} || ' adoption'
            when 'min_months_live'
                then 'Live for at least ' || {{ number_text('statused.threshold') }} || ' months'
            when 'min_months_in_stage'
                then 'At least ' || {{ number_text('statused.threshold') }} || ' months in '
                    || assessed.active_stage
            when 'min_units_planned' then 'A measurable rollout is planned'
            when 'min_value_to_cost' then 'Expected value covers expected cost'
            when 'max_run_cost_to_budget' then 'Running cost within the approved budget'
            when 'no_harm' then 'It does no harm'
            when 'best_case_pays' then 'The best case pays for itself'
            when 'max_days_in_stage'
                then 'No more than ' || {{ number_text('statused.threshold') }} || ' days in '
                    || assessed.active_stage
        end as check_label,
        case statused.check_name
            when 'evidence_verified'
                then 'The data behind its figures: ' || assessed.evidence_note || '.'
            when 'measurable_value'
                then
                    case
                        when assessed.n_kpis_measurable_value > 0
                            then
                                {{ number_text('assessed.n_kpis_measurable_value') }} || ' of '
                                || {{ number_text('assessed.n_kpis') }}
                                || ' KPIs moved the right way beyond doubt (95% interval'
                                || ' above zero).'
                        when assessed.n_kpis_harmful > 0
                            then 'It made ' || assessed.harmful_kpis || ' worse.'
                        when assessed.n_kpis_no_measurable_value > 0
                            then
                                'No KPI moved clearly: the measured change in '
                                || assessed.kpi_names
                                || ' could be nothing at all (95% interval includes zero).'
                        when assessed.n_kpis = 0 then 'It has no KPI to measure.'
                        else
                            'Too little evidence to tell whether it works (too few units'
                            || ' live, or no units left to compare with).'
                    end
            when 'min_target_attainment'
                then
                    case
                        when statused.observed_value is null
                            then 'There is no measured change to compare with the target yet.'
                        else
                            'Its weakest KPI reaches '
                            || {{ percent_text('statused.observed_value') }}
                            || ' of its target (the gate asks for '
                            || {{ percent_text('statused.threshold') }} || ').'
                    end
            when 'min_adoption_rate'
                then
                    case
                        when statused.observed_value is null
                            then 'No usage figures in the last '
                                || {{ number_text('assessed.adoption_window_days') }} || ' days.'
                        else
                            {{ percent_text('statused.observed_value') }}
                            || ' of the people who could use it did in the last '
                            || {{ number_text('assessed.adoption_window_days') }}
                            || ' days (the gate asks for '
                            || {{ percent_text('statused.threshold') }} || ').'
                    end
            when 'min_months_live'
                then
                    case
                        when statused.observed_value is null then 'It is not live anywhere yet.'
                        else
                            'Live for ' || {{ number_text('statused.observed_value') }}
                            || ' months (the gate asks for '
                            || {{ number_text('statused.threshold') }} || ').'
                    end
            when 'min_months_in_stage'
                then
                    {{ number_text('statused.observed_value') }} || ' months in '
                    || assessed.active_stage || ' (the gate asks for '
                    || {{ number_text('statused.threshold') }} || ').'
            when 'min_units_planned'
                then
                    case
                        when statused.observed_value = 0
                            then 'No rollout is planned: list the units and their go-live'
                                || ' dates in the registry, leaving others to compare with.'
                        else
                            {{ number_text('statused.observed_value') }}
                            || ' units in the rollout plan (the gate asks for '
                            || {{ number_text('statused.threshold') }} || ').'
                    end
            when 'min_value_to_cost'
                then
                    case
                        when statused.observed_value is null
                            then 'No measured value to set against its cost yet.'
                        else
                            'Over the next ' || {{ number_text('assessed.horizon_months') }}
                            || ' months it should bring '
                            || {{ money_text('assessed.expected_value_amount', 'currency') }}
                            || ' for '
                            || {{ money_text('assessed.expected_cost_amount', 'currency') }}
                            || ' of running cost.'
                    end
            when 'max_run_cost_to_budget'
                then
                    'A year at the current running cost comes to '
                    || {{ money_text('assessed.monthly_run_cost_amount * 12', 'currency') }}
                    || ', ' || {{ percent_text('statused.observed_value') }}
                    || ' of the approved budget of '
                    || {{ money_text('assessed.budget_amount', 'currency') }} || '.'
            when 'no_harm'
                then
                    case
                        when statused.check_status = 'no data'
                            then 'Too little evidence yet to tell whether it does harm.'
                        when statused.check_status = 'pass' then 'No KPI got worse.'
                        else 'It made ' || assessed.harmful_kpis || ' worse.'
                    end
            when 'best_case_pays'
                then
                    case
                        when statused.check_status = 'no data'
                            then 'Too little evidence yet to put a value on it.'
                        else
                            case when statused.check_status = 'fail' then 'Even at' else 'At' end
                            || ' the top of its 95% interval the next '
                            || {{ number_text('assessed.horizon_months') }}
                            || ' months would bring '
                            || {{ money_text('assessed.expected_value_high_amount', 'currency') }}
                            || ', against '
                            || {{ money_text('assessed.expected_cost_amount', 'currency') }}
                            || ' of running cost.'
                    end
            when 'max_days_in_stage'
                then
                    'In ' || assessed.active_stage || ' for '
                    || {{ number_text('statused.observed_value') }} || ' days ('
                    || {{ number_text('statused.observed_value / 30.4375') }}
                    || ' months); the limit is '
                    || {{ number_text('statused.threshold') }} || ' days.'
        end as check_note

    from statused
    inner join assessed
        on statused.initiative_id = assessed.initiative_id

)

select * from final
