with

source as (

    select * from {{ source('portfolio', 'stages') }}

),

final as (

    select
        initiative_id,
        stage,
        cast(stage_order as integer) as stage_order,
        cast(entered_on as date) as entered_on

    from source

)

select * from final
