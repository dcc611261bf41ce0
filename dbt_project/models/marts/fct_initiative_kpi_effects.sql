-- One row per initiative x KPI: the naive change and the attributed (difference-in-
-- differences) change side by side, with the unit-clustered 95% interval of the attributed
-- change, the evidence behind it (units, cells used and dropped), a pre-trend check, the
-- attributed value to date with its own interval, and the evidence verdict.
with

initiative_kpis as (

    select * from {{ ref('dim_initiative_kpis') }}

),

initiatives as (

    select * from {{ ref('dim_initiatives') }}

),

cohorts as (

    select * from {{ ref('int_rollout_cohorts_formed') }}

),

cells as (

    select * from {{ ref('int_cells_estimated') }}
    where is_post_period

),

influences as (

    select * from {{ ref('int_unit_influences_summed') }}

),

baselines as (

    select * from {{ ref('int_baselines_frozen') }}
    where is_treated and has_min_observations

),

unit_changes as (

    select * from {{ ref('int_changes_measured_to_date') }}
    where has_min_observations

),

event_study as (

    select * from {{ ref('fct_initiative_kpi_event_study') }}

),

cohort_summary as (

    select
        initiative_id,
        kpi_id,
        count(*) as n_cohorts

    from cohorts
    group by
        initiative_id,
        kpi_id

),

cell_summary as (

    select
        cells.initiative_id,
        cells.kpi_id,
        count(distinct case when cells.is_identified then cells.go_live_on end)
            as n_cohorts_used,
        sum(case when cells.is_identified then 1 else 0 end) as n_cells_used,
        sum(case when cells.cell_status = 'no control units' then 1 else 0 end)
            as n_cells_dropped_no_controls,
        sum(
            case
                when cells.cell_status in ('too few treated units', 'too few control units')
                    then 1
                else 0
            end
        ) as n_cells_dropped_too_few_units,
        sum(case when cells.is_identified then cells.treated_observations else 0 end)
            as treated_observations,
        sum(case when cells.is_identified then cells.treated_observations * cells.cell_effect end)
        / nullif(sum(case when cells.is_identified then cells.treated_observations end), 0)
            as attributed_change,
        sum(
            case
                when cells.is_identified
                    then
                        cells.cell_effect
                        * cells.treated_volume
                        * initiative_kpis.value_per_unit
                        * case when initiative_kpis.direction = 'increase' then 1 else -1 end
            end
        ) as attributed_value_amount

    from cells
    inner join initiative_kpis
        on
            cells.initiative_id = initiative_kpis.initiative_id
            and cells.kpi_id = initiative_kpis.kpi_id
    group by
        cells.initiative_id,
        cells.kpi_id

),

variance as (

    select
        initiative_id,
        kpi_id,
        {{ clustered_variance('effect_influence', 'effect_design_influence', 'is_treated_unit') }},
        sum(value_influence * value_influence) as value_variance,
        sum(
            case
                when is_treated_unit then value_design_influence * value_design_influence
                else 0
            end
        ) as treated_value_design_variance,
        sum(
            case
                when is_treated_unit then 0
                else value_design_influence * value_design_influence
            end
        ) as control_value_design_variance,
        sum(case when is_control_unit then 1 else 0 end) as n_control_units

    from influences
    group by
        initiative_id,
        kpi_id

),

baseline_summary as (

    select
        initiative_id,
        kpi_id,
        avg(baseline_mean) as baseline_value

    from baselines
    group by
        initiative_id,
        kpi_id

),

naive_summary as (

    select
        initiative_id,
        kpi_id,
        avg(change_value) as naive_change,
        avg(baseline_mean) as naive_baseline_value

    from unit_changes
    group by
        initiative_id,
        kpi_id

),

-- Placebo test: every pre-period event month should show no effect. Each is tested at 5%
-- with a Bonferroni correction for the number of pre-periods tested.
pre_periods as (

    select
        initiative_id,
        kpi_id,
        effect_value,
        standard_error,
        degrees_of_freedom,
        count(*) over (partition by initiative_id, kpi_id) as n_pre_periods

    from event_study
    where is_pre_period and effect_value is not null

),

pre_period_tests as (

    select
        initiative_id,
        kpi_id,
        n_pre_periods,
        abs(effect_value)
        > {{ t_critical(
            'degrees_of_freedom',
            normal_quantile_bonferroni('n_pre_periods'),
            '0.025 / n_pre_periods'
        ) }} * standard_error as is_rejected,
        abs(effect_value) / nullif(standard_error, 0) as abs_t_statistic

    from pre_periods

),

pre_trend as (

    select
        initiative_id,
        kpi_id,
        max(n_pre_periods) as n_pre_periods_tested,
        max(case when is_rejected then 1 else 0 end) = 1 as has_pre_trend,
        max(abs_t_statistic) as pre_trend_max_abs_t

    from pre_period_tests
    group by
        initiative_id,
        kpi_id

),

joined as (

    select
        initiative_kpis.initiative_id,
        initiative_kpis.kpi_id,
        initiative_kpis.direction,
        initiatives.currency,
        initiatives.min_observations,
        baseline_summary.baseline_value,
        naive_summary.naive_change,
        naive_summary.naive_baseline_value,
        cell_summary.attributed_change,
        cell_summary.attributed_value_amount,
        pre_trend.has_pre_trend,
        pre_trend.pre_trend_max_abs_t,
        sqrt(variance.effect_variance) as standard_error,
        sqrt(variance.value_variance) as value_standard_error,
        case when initiative_kpis.direction = 'increase' then 1 else -1 end as favourable_sign,
        case
            when initiative_kpis.target_type = 'relative'
                then initiative_kpis.target_change * baseline_summary.baseline_value
            else initiative_kpis.target_change
        end as target_change_value,
        coalesce(cohort_summary.n_cohorts, 0) as n_cohorts,
        coalesce(cell_summary.n_cohorts_used, 0) as n_cohorts_used,
        coalesce(variance.n_treated_units, 0) as n_treated_units,
        coalesce(variance.n_control_units, 0) as n_control_units,
        coalesce(cell_summary.treated_observations, 0) as treated_observations,
        coalesce(cell_summary.n_cells_used, 0) as n_cells_used,
        coalesce(cell_summary.n_cells_dropped_no_controls, 0) as n_cells_dropped_no_controls,
        coalesce(cell_summary.n_cells_dropped_too_few_units, 0)
            as n_cells_dropped_too_few_units,
        coalesce(pre_trend.n_pre_periods_tested, 0) as n_pre_periods_tested,
        {{ welch_degrees_of_freedom(
            'variance.treated_design_variance', 'variance.n_treated_units',
            'variance.control_design_variance', 'variance.n_control_only_units'
        ) }} as degrees_of_freedom,
        {{ welch_degrees_of_freedom(
            'variance.treated_value_design_variance', 'variance.n_treated_units',
            'variance.control_value_design_variance', 'variance.n_control_only_units'
        ) }} as value_degrees_of_freedom

    from initiative_kpis
    inner join initiatives
        on initiative_kpis.initiative_id = initiatives.initiative_id
    left join cohort_summary
        on
            initiative_kpis.initiative_id = cohort_summary.initiative_id
            and initiative_kpis.kpi_id = cohort_summary.kpi_id
    left join cell_summary
        on
            initiative_kpis.initiative_id = cell_summary.initiative_id
            and initiative_kpis.kpi_id = cell_summary.kpi_id
    left join variance
        on
            initiative_kpis.initiative_id = variance.initiative_id
            and initiative_kpis.kpi_id = variance.kpi_id
    left join baseline_summary
        on
            initiative_kpis.initiative_id = baseline_summary.initiative_id
            and initiative_kpis.kpi_id = baseline_summary.kpi_id
    left join naive_summary
        on
            initiative_kpis.initiative_id = naive_summary.initiative_id
            and initiative_kpis.kpi_id = naive_summary.kpi_id
    left join pre_trend
        on
            initiative_kpis.initiative_id = pre_trend.initiative_id
            and initiative_kpis.kpi_id = pre_trend.kpi_id

),

intervals as (

    select
        *,
        attributed_change * favourable_sign as attributed_favourable_change,
        {{ t_critical('degrees_of_freedom', 1.959963984540054, 0.025) }} * standard_error
            as margin,
        {{ t_critical('value_degrees_of_freedom', 1.959963984540054, 0.025) }}
        * value_standard_error as value_margin

    from joined

),

-- Too little evidence gives no verdict on the interval, however narrow it looks.
evidence as (

    select
        *,
        case
            when n_cohorts = 0 then 'no rollout'
            when n_cells_used = 0
                then 'no cohort x month with 2 treated and 2 control units past the ramp-up'
            when n_treated_units < 2 then 'fewer than 2 treated units'
            when n_control_units < 2 then 'fewer than 2 control units'
            when treated_observations < min_observations
                then 'fewer treated observations than min_observations'
            when standard_error is null then 'no standard error'
        end as insufficiency

    from intervals

),

figures as (

    select
        initiative_id,
        kpi_id,
        direction,
        currency,
        cast(n_cohorts as integer) as n_cohorts,
        cast(n_cohorts_used as integer) as n_cohorts_used,
        cast(n_treated_units as integer) as n_treated_units,
        cast(n_control_units as integer) as n_control_units,
        cast(treated_observations as bigint) as treated_observations,
        cast(n_cells_used as integer) as n_cells_used,
        cast(n_cells_dropped_no_controls as integer) as n_cells_dropped_no_controls,
        cast(n_cells_dropped_too_few_units as integer) as n_cells_dropped_too_few_units,
        cast(baseline_value as {{ type_double() }}) as baseline_value,
        cast(naive_change as {{ type_double() }}) as naive_change,
        cast(
            naive_change / nullif(naive_baseline_value, 0) as {{ type_double() }}
        ) as naive_change_relative,
        cast(naive_change * favourable_sign as {{ type_double() }}) as naive_favourable_change,
        cast(attributed_change as {{ type_double() }}) as attributed_change,
        cast(
            attributed_change / nullif(baseline_value, 0) as {{ type_double() }}
        ) as attributed_change_relative,
        cast(attributed_favourable_change as {{ type_double() }}) as attributed_favourable_change,
        cast(standard_error as {{ type_double() }}) as standard_error,
        cast(degrees_of_freedom as {{ type_double() }}) as degrees_of_freedom,
        cast(attributed_favourable_change - margin as {{ type_double() }}) as ci_low,
        cast(attributed_favourable_change + margin as {{ type_double() }}) as ci_high,
        cast(target_change_value as {{ type_double() }}) as target_change_value,
        cast(
            naive_change / nullif(target_change_value, 0) as {{ type_double() }}
        ) as naive_attainment,
        cast(
            attributed_change / nullif(target_change_value, 0) as {{ type_double() }}
        ) as attributed_attainment,
        cast(attributed_value_amount as {{ type_double() }}) as attributed_value_amount,
        cast(attributed_value_amount - value_margin as {{ type_double() }}) as value_ci_low,
        cast(attributed_value_amount + value_margin as {{ type_double() }}) as value_ci_high,
        cast(n_pre_periods_tested as integer) as n_pre_periods_tested,
        has_pre_trend,
        cast(pre_trend_max_abs_t as {{ type_double() }}) as pre_trend_max_abs_t,
        case
            when insufficiency is not null then 'insufficient evidence'
            when attributed_favourable_change - margin > 0 then 'measurable value'
            when attributed_favourable_change + margin < 0 then 'harmful'
            else 'no measurable value'
        end as evidence_verdict,
        case
            when insufficiency is not null then insufficiency
            when attributed_favourable_change - margin > 0
                then '95% interval of the favourable change lies above zero'
            when attributed_favourable_change + margin < 0
                then '95% interval of the favourable change lies below zero'
            else '95% interval of the favourable change includes zero'
        end as verdict_reason

    from evidence

),

-- Every value figure carries the evidence status of its initiative (docs/quality.md):
-- a failing initiative is shown as unverified, never silently reported.
evidenced as (

    {{ with_evidence_status('figures') }}

),

signoffs as (

    select * from {{ ref('int_signoffs_latest') }}
    where kpi_id is not null and period = 'to_date'

),

-- The evidence ladder of the attributed value to date (docs/method.md).
final as (

    select
        evidenced.*,
        {{ evidence_ladder_columns(
            evidence_rank_measured(
                'evidenced.naive_change',
                'evidenced.evidence_verdict',
                'evidenced.is_evidence_verified',
                'evidenced.has_pre_trend',
            ),
            'evidenced.attributed_value_amount',
            'initiative_kpis.is_cash',
            'signoffs',
        ) }}

    from evidenced
    left join initiative_kpis
        on
            evidenced.initiative_id = initiative_kpis.initiative_id
            and evidenced.kpi_id = initiative_kpis.kpi_id
    left join signoffs
        on
            evidenced.initiative_id = signoffs.initiative_id
            and evidenced.kpi_id = signoffs.kpi_id

)

select * from final
