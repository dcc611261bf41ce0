-- One row per blocker raised against an initiative, with its age: days open until the as-of
-- date, or days it took to resolve.
with

blockers as (

    select * from {{ ref('stg_portfolio__blockers') }}

),

initiatives as (

    select * from {{ ref('stg_portfolio__initiatives') }}

),

as_of as (

    select * from {{ ref('int_as_of_dates_chosen') }}

),

final as (

    select
        blockers.initiative_id,
        blockers.raised_on,
        blockers.blocker_text,
        blockers.resolved_on,
        not blockers.is_resolved as is_open,
        initiatives.current_stage,
        cast(
            case
                when blockers.is_resolved
                    then {{ dbt.datediff('blockers.raised_on', 'blockers.resolved_on', 'day') }}
                when blockers.raised_on <= as_of.as_of_date
                    then {{ dbt.datediff('blockers.raised_on', 'as_of.as_of_date', 'day') }}
                else 0
            end as integer
        ) as age_days

    from blockers
    inner join initiatives
        on blockers.initiative_id = initiatives.initiative_id
    cross join as_of

)

select * from final
