with

source as (

    select * from {{ source('evidence', 'quarantine') }}

),

final as (

    select
        trim(source_system) as source_system,
        target_table,
        source_file,
        cast(source_row as bigint) as source_row,
        reason as rejection_reason,
        raw_text,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at

    from source

)

select * from final
