with

source as (

    select * from {{ source('portfolio', 'kpis') }}

),

final as (

    select
        kpi_id,
        kpi_name,
        unit_of_measure,
        aggregation,
        cast(higher_is_better as boolean) as is_higher_better,
        cast(min_value as {{ type_double() }}) as min_value,
        cast(max_value as {{ type_double() }}) as max_value

    from source

)

select * from final
