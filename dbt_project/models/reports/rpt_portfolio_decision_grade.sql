-- One row per currency: the portfolio's honest roll-up and its variance reduction. Naive
-- total = sum of attributed values to date; shrunk total = the same with every effect shrunk
-- toward the portfolio mean (fct_initiative_kpi_shrunk_effects): the winner's curse removed.
-- Also the median CUPED interval width ratio and the count of fragile estimates.
with

shrunk as (

    select * from {{ ref('fct_initiative_kpi_shrunk_effects') }}

),

adjusted as (

    select * from {{ ref('fct_initiative_kpi_adjusted_effects') }}

),

sensitivity as (

    select * from {{ ref('fct_initiative_kpi_sensitivity') }}

),

-- Median without an engine's median(): the mean of the one or two middle rows.
width_ratios as (

    select
        interval_width_ratio,
        row_number() over (order by interval_width_ratio, initiative_id, kpi_id) as ratio_rank,
        count(*) over () as n_ratios

    from adjusted
    where interval_width_ratio is not null

),

width_median as (

    select
        max(n_ratios) as n_adjusted_estimates,
        avg(interval_width_ratio) as median_interval_width_ratio

    from width_ratios
    where ratio_rank in (floor((n_ratios + 1) / 2.0), ceiling((n_ratios + 1) / 2.0))

),

fragility as (

    select
        sum(case when is_fragile then 1 else 0 end) as n_fragile_estimates,
        sum(case when is_fragile is not null then 1 else 0 end) as n_assessed_estimates

    from sensitivity

),

totals as (

    select
        currency,
        max(n_in_fit) as n_in_fit,
        max(prior_mean) as prior_mean,
        max(prior_sd) as prior_sd,
        sum(case when attributed_value_amount is not null then 1 else 0 end) as n_estimates,
        sum(attributed_value_amount) as naive_value_amount,
        sum(coalesce(shrunk_value_amount, attributed_value_amount)) as shrunk_value_amount

    from shrunk
    group by currency

),

final as (

    select
        totals.currency,
        cast(totals.n_estimates as integer) as n_estimates,
        cast(coalesce(totals.n_in_fit, 0) as integer) as n_in_fit,
        cast(totals.prior_mean as {{ type_double() }}) as prior_mean_relative_effect,
        cast(totals.prior_sd as {{ type_double() }}) as prior_sd_relative_effect,
        cast(totals.naive_value_amount as {{ type_double() }}) as naive_value_amount,
        cast(totals.shrunk_value_amount as {{ type_double() }}) as shrunk_value_amount,
        cast(
            totals.shrunk_value_amount - totals.naive_value_amount as {{ type_double() }}
        ) as shrinkage_adjustment_amount,
        cast(coalesce(width_median.n_adjusted_estimates, 0) as integer)
            as n_adjusted_estimates,
        cast(
            width_median.median_interval_width_ratio as {{ type_double() }}
        ) as median_interval_width_ratio,
        cast(coalesce(fragility.n_fragile_estimates, 0) as integer) as n_fragile_estimates,
        cast(coalesce(fragility.n_assessed_estimates, 0) as integer) as n_assessed_estimates

    from totals
    cross join width_median
    cross join fragility

)

select * from final
