with

source as (

    select * from {{ source('portfolio', 'blockers') }}

),

final as (

    select
        initiative_id,
        cast(raised_on as date) as raised_on,
        blocker_text,
        cast(resolved_on as date) as resolved_on,
        resolved_on is not null as is_resolved

    from source

)

select * from final
