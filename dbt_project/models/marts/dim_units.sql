with

units as (

    select * from {{ ref('stg_portfolio__units') }}

),

final as (

    select
        unit_id,
        unit_name,
        business_unit,
        region,
        unit_size

    from units

)

select * from final
