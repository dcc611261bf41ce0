with

source as (

    select * from {{ source('evidence', 'kpi_observations') }}

),

final as (

    select
        trim(source_system) as source_system,
        lower(trim(unit_id)) as unit_id,
        lower(trim(kpi_id)) as kpi_id,
        cast(observed_on as date) as observed_on,
        cast(value as {{ type_double() }}) as observed_value,
        cast(weight as {{ type_double() }}) as weight,
        source_file,
        cast(source_row as bigint) as source_row,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at

    from source

)

select * from final
