with

source as (

    select * from {{ source('portfolio', 'settings') }}

),

final as (

    select
        portfolio_name,
        currency,
        cast(data_starts_on as date) as data_starts_on,
        cast(discount_rate as {{ type_double() }}) as discount_rate

    from source

)

select * from final
