with

source as (

    select * from {{ source('portfolio', 'rollout') }}

),

final as (

    select
        initiative_id,
        unit_id,
        cast(go_live_on as date) as go_live_on

    from source

)

select * from final
