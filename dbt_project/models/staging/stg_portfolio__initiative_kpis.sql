with

source as (

    select * from {{ source('portfolio', 'initiative_kpis') }}

),

final as (

    select
        initiative_id,
        kpi_id,
        {{ integer_key(['initiative_id', 'kpi_id']) }} as estimate_key,
        direction,
        target_type,
        cast(target_change as {{ type_double() }}) as target_change,
        cast(value_per_unit as {{ type_double() }}) as value_per_unit,
        value_driver,
        cast(is_cash as boolean) as is_cash

    from source

)

select * from final
