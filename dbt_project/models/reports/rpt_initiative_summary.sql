with

initiatives as (

    select * from {{ ref('dim_initiatives') }}

),

initiative_kpis as (

    select * from {{ ref('dim_initiative_kpis') }}

),

kpis as (

    select * from {{ ref('dim_kpis') }}

),

kpi_months as (

    select * from {{ ref('fct_initiative_kpi_monthly') }}

),

value_months as (

    select * from {{ ref('fct_initiative_value_monthly') }}

),

effects as (

    select * from {{ ref('fct_initiative_kpi_effects') }}

),

returns as (

    select * from {{ ref('fct_initiative_returns') }}

),

baselines as (

    select * from {{ ref('int_baselines_frozen') }}
    where is_treated and has_min_observations

),

unit_changes as (

    select * from {{ ref('int_changes_measured_to_date') }}
    where has_min_observations

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

change_summary as (

    select
        initiative_id,
        kpi_id,
        (avg(actual_mean) - avg(baseline_mean))
        / nullif(avg(baseline_mean), 0) as change_relative,
        count(*) as n_units_measured

    from unit_changes
    group by
        initiative_id,
        kpi_id

),

kpi_months_ranked as (

    select
        initiative_id,
        kpi_id,
        report_month,
        actual_value,
        n_live_units,
        row_number() over (
            partition by initiative_id, kpi_id
            order by report_month desc
        ) as month_rank

    from kpi_months

),

kpi_value_to_date as (

    select
        initiative_id,
        kpi_id,
        sum(value_amount) as value_to_date,
        sum(attributed_value_amount) as attributed_value_to_date

    from kpi_months
    group by
        initiative_id,
        kpi_id

),

value_months_ranked as (

    select
        initiative_id,
        roi,
        row_number() over (
            partition by initiative_id
            order by report_month desc
        ) as month_rank

    from value_months

),

-- The attributed interval as a change of the KPI (low <= high), relative to the baseline:
-- the effects mart bounds the favourable change, so decrease KPIs flip sign.
effect_intervals as (

    select
        initiative_id,
        kpi_id,
        attributed_change_relative,
        evidence_verdict,
        has_pre_trend,
        case when direction = 'increase' then ci_low else -ci_high end
        / nullif(baseline_value, 0) as ci_low_relative,
        case when direction = 'increase' then ci_high else -ci_low end
        / nullif(baseline_value, 0) as ci_high_relative

    from effects

),

joined as (

    select
        initiatives.initiative_id,
        initiatives.initiative_name,
        initiatives.current_stage,
        initiative_kpis.kpi_id,
        kpis.kpi_name,
        initiative_kpis.direction,
        baseline_summary.baseline_value,
        latest_kpi_month.report_month as current_month,
        latest_kpi_month.actual_value as current_value,
        change_summary.change_relative,
        kpi_value_to_date.value_to_date,
        initiatives.currency,
        latest_value_month.roi,
        initiatives.n_units_rolled_out,
        initiatives.is_rollout_randomised,
        effect_intervals.attributed_change_relative,
        effect_intervals.evidence_verdict,
        effect_intervals.has_pre_trend,
        kpi_value_to_date.attributed_value_to_date,
        returns.attributed_roi,
        returns.attributed_payback_month,
        cast(coalesce(latest_kpi_month.n_live_units, 0) as integer) as n_units_live,
        cast(coalesce(change_summary.n_units_measured, 0) as integer) as n_units_measured,
        case
            when effect_intervals.ci_low_relative < effect_intervals.ci_high_relative
                then effect_intervals.ci_low_relative
            else effect_intervals.ci_high_relative
        end as attributed_ci_low_relative,
        case
            when effect_intervals.ci_low_relative < effect_intervals.ci_high_relative
                then effect_intervals.ci_high_relative
            else effect_intervals.ci_low_relative
        end as attributed_ci_high_relative

    from initiatives
    left join initiative_kpis
        on initiatives.initiative_id = initiative_kpis.initiative_id
    left join kpis
        on initiative_kpis.kpi_id = kpis.kpi_id
    left join baseline_summary
        on
            initiative_kpis.initiative_id = baseline_summary.initiative_id
            and initiative_kpis.kpi_id = baseline_summary.kpi_id
    left join change_summary
        on
            initiative_kpis.initiative_id = change_summary.initiative_id
            and initiative_kpis.kpi_id = change_summary.kpi_id
    left join kpi_months_ranked as latest_kpi_month
        on
            initiative_kpis.initiative_id = latest_kpi_month.initiative_id
            and initiative_kpis.kpi_id = latest_kpi_month.kpi_id
            and latest_kpi_month.month_rank = 1
    left join kpi_value_to_date
        on
            initiative_kpis.initiative_id = kpi_value_to_date.initiative_id
            and initiative_kpis.kpi_id = kpi_value_to_date.kpi_id
    left join value_months_ranked as latest_value_month
        on
            initiatives.initiative_id = latest_value_month.initiative_id
            and latest_value_month.month_rank = 1
    left join effect_intervals
        on
            initiative_kpis.initiative_id = effect_intervals.initiative_id
            and initiative_kpis.kpi_id = effect_intervals.kpi_id
    left join returns
        on initiatives.initiative_id = returns.initiative_id

),

figures as (

    select
        initiative_id,
        initiative_name,
        current_stage,
        kpi_id,
        kpi_name,
        direction,
        baseline_value,
        current_month,
        current_value,
        change_relative,
        value_to_date,
        currency,
        roi,
        n_units_live,
        n_units_measured,
        n_units_rolled_out,
        attributed_change_relative,
        attributed_ci_low_relative,
        attributed_ci_high_relative,
        evidence_verdict,
        has_pre_trend,
        attributed_value_to_date,
        attributed_roi,
        attributed_payback_month

    from joined

),

-- Every value figure carries the evidence status of its initiative (docs/quality.md):
-- a failing initiative is shown as unverified, never silently reported.
evidenced as (

    {{ with_evidence_status('figures', with_note=true) }}

),

-- The evidence ladder of the KPI's attributed value to date, as in the effects mart.
final as (

    select
        evidenced.*,
        effects.signed_off_by,
        effects.signed_off_at,
        effects.signed_off_amount,
        cast(coalesce(effects.evidence_rank, 1) as integer) as evidence_rank,
        coalesce(effects.evidence_level, 'target only') as evidence_level,
        coalesce(effects.signoff_status, 'none') as signoff_status

    from evidenced
    left join effects
        on
            evidenced.initiative_id = effects.initiative_id
            and evidenced.kpi_id = effects.kpi_id

)

select * from final
