{#-
    The MetricFlow time spine: one row per day from the first day of the year the evidence
    starts in (registry `data_starts_on`), for 10,000 days (27 years). Portable: the digits
    series of `integer_series`, no generate_series.
-#}

with

settings as (

    select data_starts_on from {{ ref('stg_portfolio__settings') }}

),

first_day as (

    select {{ dbt.date_trunc('year', 'data_starts_on') }} as first_day_at
    from settings

),

days as (

    {{ integer_series(4) }}

),

final as (

    select
        cast(
            {{ dbt.dateadd('day', 'days.n', 'first_day.first_day_at') }} as date
        ) as date_day
    from first_day
    cross join days

)

select * from final
