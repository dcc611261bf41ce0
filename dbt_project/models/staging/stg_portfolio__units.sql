with

source as (

    select * from {{ source('portfolio', 'units') }}

),

final as (

    select
        unit_id,
        unit_name,
        business_unit,
        region,
        cast(unit_size as integer) as unit_size

    from source

)

select * from final
