with

source as (

    select * from {{ source('portfolio', 'settings') }}

),

final as (

    select
        portfolio_name,
        currency,
        cast(data_starts_on as date) as data_starts_on

    from source

)

select * from final
