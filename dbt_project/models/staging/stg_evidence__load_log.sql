with

source as (

    select * from {{ source('evidence', 'load_log') }}

),

final as (

    select
        target_table,
        trim(source_system) as source_system,
        source_file,
        file_sha256,
        cast(rows_read as bigint) as rows_read,
        cast(rows_loaded as bigint) as rows_loaded,
        cast(rows_quarantined as bigint) as rows_quarantined,
        cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at

    from source

)

select * from final
