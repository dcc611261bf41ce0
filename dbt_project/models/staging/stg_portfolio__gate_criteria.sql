with

source as (

    select * from {{ source('portfolio', 'gate_criteria') }}

),

final as (

    select
        initiative_id,
        from_stage,
        to_stage,
        criterion,
        cast(threshold as {{ type_double() }}) as threshold

    from source

)

select * from final
