-- How hard each KPI and each value driver has been to move: the empirical distribution of the
-- favourable relative effects in fct_effect_library_entries. Quantiles are Hyndman and Fan's
-- type 7 (linear interpolation between order statistics, as numpy and percentile_cont), written
-- out so that every engine gives the same numbers.

with

entries as (

    select * from {{ ref('fct_effect_library_entries') }}

),

scoped as (

    select
        'kpi' as library_scope,
        kpi_id as scope_id,
        initiative_id,
        kpi_id,
        favourable_change_relative,
        is_significant
    from entries

    union all

    select
        'value_driver' as library_scope,
        value_driver as scope_id,
        initiative_id,
        kpi_id,
        favourable_change_relative,
        is_significant
    from entries

),

ranked as (

    select
        library_scope,
        scope_id,
        favourable_change_relative,
        row_number() over (
            partition by library_scope, scope_id
            order by favourable_change_relative, initiative_id, kpi_id
        ) as order_position

    from scoped

),

summary as (

    select
        library_scope,
        scope_id,
        count(*) as n_estimates,
        count(distinct initiative_id) as n_initiatives,
        sum(case when is_significant then 1 else 0 end) as n_significant,
        avg(favourable_change_relative) as mean_change_relative,
        min(favourable_change_relative) as min_change_relative,
        max(favourable_change_relative) as max_change_relative

    from scoped
    group by library_scope, scope_id

),

probabilities as (

    select cast(0.10 as {{ type_double() }}) as probability
    union all
    select cast(0.25 as {{ type_double() }}) as probability
    union all
    select cast(0.50 as {{ type_double() }}) as probability
    union all
    select cast(0.75 as {{ type_double() }}) as probability
    union all
    select cast(0.90 as {{ type_double() }}) as probability

),

-- Type 7: h = (n - 1) p + 1; Q(p) = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]).
positions as (

    select
        summary.library_scope,
        summary.scope_id,
        summary.n_estimates,
        probabilities.probability,
        (summary.n_estimates - 1) * probabilities.probability + 1 as h,
        floor((summary.n_estimates - 1) * probabilities.probability + 1) as h_floor

    from summary
    cross join probabilities

),

quantiles as (

    select
        positions.library_scope,
        positions.scope_id,
        positions.probability,
        lower_value.favourable_change_relative
        + (positions.h - positions.h_floor)
        * (
            upper_value.favourable_change_relative
            - lower_value.favourable_change_relative
        ) as quantile_value

    from positions
    inner join ranked as lower_value
        on
            positions.library_scope = lower_value.library_scope
            and positions.scope_id = lower_value.scope_id
            and positions.h_floor = lower_value.order_position
    inner join ranked as upper_value
        on
            positions.library_scope = upper_value.library_scope
            and positions.scope_id = upper_value.scope_id
            and case
                when positions.h_floor < positions.n_estimates then positions.h_floor + 1
                else positions.h_floor
            end = upper_value.order_position

),

pivoted as (

    select
        library_scope,
        scope_id,
        max(case when probability = 0.10 then quantile_value end) as p10_change_relative,
        max(case when probability = 0.25 then quantile_value end) as p25_change_relative,
        max(case when probability = 0.50 then quantile_value end) as p50_change_relative,
        max(case when probability = 0.75 then quantile_value end) as p75_change_relative,
        max(case when probability = 0.90 then quantile_value end) as p90_change_relative

    from quantiles
    group by library_scope, scope_id

),

final as (

    select
        summary.library_scope,
        summary.scope_id,
        cast(summary.n_estimates as integer) as n_estimates,
        cast(summary.n_initiatives as integer) as n_initiatives,
        cast(summary.n_significant as integer) as n_significant,
        cast(
            1.0 * summary.n_significant / summary.n_estimates as {{ type_double() }}
        ) as share_significant,
        cast(summary.mean_change_relative as {{ type_double() }}) as mean_change_relative,
        cast(summary.min_change_relative as {{ type_double() }}) as min_change_relative,
        cast(pivoted.p10_change_relative as {{ type_double() }}) as p10_change_relative,
        cast(pivoted.p25_change_relative as {{ type_double() }}) as p25_change_relative,
        cast(pivoted.p50_change_relative as {{ type_double() }}) as p50_change_relative,
        cast(pivoted.p75_change_relative as {{ type_double() }}) as p75_change_relative,
        cast(pivoted.p90_change_relative as {{ type_double() }}) as p90_change_relative,
        cast(summary.max_change_relative as {{ type_double() }}) as max_change_relative

    from summary
    inner join pivoted
        on
            summary.library_scope = pivoted.library_scope
            and summary.scope_id = pivoted.scope_id

)

select * from final
